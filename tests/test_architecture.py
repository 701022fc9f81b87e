"""The shape of the code (docs/contributing.md): egno/ in layers whose imports flow one way, no
private names borrowed across modules, family facts on the families, short functions."""
from __future__ import annotations

import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
EGNO = ROOT / "egno"
# lower layers never import higher ones; a module may import its own layer and any below
LAYERS = {"paths": 0, "limits": 0, "align": 0, "nn": 1, "data": 2, "run": 3, "service": 4, "uploads": 5,
          "__main__": 6, "__init__": 6}
FAMILIES = ("points", "molecule", "skeleton", "protein", "nbody", "md17", "mocap")


def modules() -> list[Path]:
    return sorted(EGNO.rglob("*.py"))


def layer(module: str) -> int:
    """Layer of a dotted name inside egno ('egno.run.train' -> 3)."""
    parts = module.split(".")
    assert parts[0] == "egno", module
    return LAYERS[parts[1]] if len(parts) > 1 else LAYERS["__init__"]


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every import in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: egno imports absolutely"
            out.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
    return out


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_top_level_holds_subpackages_and_a_few_small_modules():
    files = {p.stem for p in EGNO.glob("*.py")}
    assert files <= {"__init__", "__main__", "paths", "limits", "align"}, files
    assert {p.name for p in EGNO.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == {
        "nn", "data", "run", "service", "uploads"}
    for small in ("paths", "limits", "align"):
        assert len((EGNO / f"{small}.py").read_text().splitlines()) < 100, small


def test_imports_flow_one_way():
    wrong = []
    for path in modules():
        own = layer(dotted(path)) if path.stem not in ("__init__", "__main__") or path.parent != EGNO \
            else LAYERS[path.stem]
        for module, names, line in imports(path):
            if module == "egno":  # 'from egno import limits' and the like
                targets = [f"egno.{n}" if n in LAYERS else "egno" for n in names]
            elif module.startswith("egno."):
                targets = [module]
            else:
                continue
            wrong += [f"{path.relative_to(ROOT)}:{line} imports {t}" for t in targets if layer(t) > own]
    assert not wrong, "imports that run up a layer:\n" + "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module():
    borrowed = [f"{p.relative_to(ROOT)}:{line} {module}.{n}" for p in modules() for module, names, line in imports(p)
                if module.startswith("egno") for n in names if n.startswith("_") and not n.startswith("__")]
    assert not borrowed, borrowed


def test_the_library_never_imports_streamlit():
    assert not [p for p in modules() for module, _, _ in imports(p) if module.split(".")[0] == "streamlit"]


def test_no_function_over_80_lines():
    long = [f"{p.relative_to(ROOT)}:{f.lineno} {f.name} ({f.end_lineno - f.lineno + 1})"
            for p in [*modules(), *(ROOT / "app").rglob("*.py")]
            for f in ast.walk(ast.parse(p.read_text()))
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > 80]
    assert not long, long


def names_a_family(node: ast.AST) -> bool:
    """A string constant naming a family or drawing kind, alone or in a tuple, list or set."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return any(isinstance(c, ast.Constant) and c.value in FAMILIES for c in items)


def family_branches(path: Path) -> list[str]:
    """Comparisons with a family's name or drawing kind (``view == "molecule"``, ``kind in
    ("md17", ...)``) and tables keyed by them (``{"nbody": ..., "md17": ...}``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare) and any(names_a_family(c) for c in [node.left, *node.comparators]):
            found.append(f"{path}:{node.lineno}")
        elif isinstance(node, ast.Dict) and sum(k is not None and names_a_family(k) for k in node.keys) >= 2:
            found.append(f"{path}:{node.lineno}")
    return found


DRAWING = (ROOT / "app" / "figures.py", ROOT / "app" / "mol3d.py")  # the app's drawing switch


def test_family_facts_live_on_the_families():
    """Outside egno/data/ and the app's drawing switch, at most 3 branches on a family's name
    (the command line's nbody-only commands): a new family is one module plus its registration."""
    files = [p for p in [*modules(), *(ROOT / "app").rglob("*.py")]
             if EGNO / "data" not in p.parents and p not in DRAWING]
    branches = [b for p in files for b in family_branches(p)]
    assert len(branches) <= 3, branches


def test_the_branch_counter_sees_branches(tmp_path):
    code = tmp_path / "x.py"
    code.write_text('if view == "molecule": pass\nif kind in ("md17", "nbody"): pass\n'
                    'T = {"nbody": 1, "mocap": 2}\nif name == "walk": pass\n')
    assert len(family_branches(code)) == 3
