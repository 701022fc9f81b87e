"""The shape of egno/ in numbers, for a checkout at ROOT (default: this one): modules (top level),
lines, import arrows between egno modules, functions over 80 lines (egno and app), and the
family-name branches outside egno/data and the app's drawing switch that tests/test_architecture.py
counts. Compare two commits with a worktree:

    git worktree add /tmp/old 4b2223e && .venv/bin/python scripts/code_stats.py /tmp/old
    .venv/bin/python scripts/code_stats.py
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "tests"))
from test_architecture import family_branches  # noqa: E402  (the test's own counter)


def imports_of(path: Path, root: Path) -> set[tuple[str, str]]:
    """(module, imported egno module) pairs of one file, relative imports resolved."""
    mod = ".".join(path.relative_to(root).with_suffix("").parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".")[: len(mod.split(".")) - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("egno"):
                out.add((mod, target))
    return out


def main(root: Path) -> None:
    files = sorted((root / "egno").rglob("*.py"))
    app = sorted((root / "app").rglob("*.py"))
    arrows = set().union(*(imports_of(p, root) for p in files))
    long_ = [f for p in files + app for f in ast.walk(ast.parse(p.read_text()))
             if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > 80]
    drawing = {root / "app" / "figures.py", root / "app" / "mol3d.py"}
    branches = sum(len(family_branches(p)) for p in files + app
                   if root / "egno" / "data" not in p.parents and p not in drawing)
    print(f"modules {len(files)} (top level {len(list((root / 'egno').glob('*.py')))}), "
          f"lines {sum(len(p.read_text().splitlines()) for p in files)}, import arrows {len(arrows)}, "
          f"functions over 80 lines {len(long_)}, family branches {branches}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE)
