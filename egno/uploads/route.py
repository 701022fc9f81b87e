"""Which shipped model an uploaded molecule goes to: its own when it is one of the eight MD17
molecules (same heavy atoms, bonded the same way), else the model trained on all eight."""
from __future__ import annotations

from collections import Counter


from egno.data.base import Windows
from egno.data.md17 import bond_signature, reference_molecule
from egno.data.md17_sim import MOLECULES
from egno.run.checkpoint import shipped_models


def identify(w: Windows, symbols: list[str]) -> tuple[str | None, str | None]:
    """(molecule, None) when sample 0 is one of the eight; (None, molecule) when it has a
    molecule's formula but other bonds; (None, None) otherwise."""
    bonds = w.edge_index[:, w.edge_attr[:, 2] > 0.5].numpy()
    mine = bond_signature(symbols, bonds)
    same_formula = None
    for name in MOLECULES:
        formula, signature = reference_molecule(name)
        if formula == Counter(symbols):
            if signature == mine:
                return name, None
            same_formula = name
    return None, same_formula


def route_molecule(dataset: str, model: str, w: Windows, symbols: list[str], shown: str) -> tuple[str, str, str]:
    """(dataset, model, note) to predict an uploaded molecule with: md17/<its name> when it is one
    of the eight and that is shipped, else md17/all; the note says which and why."""
    name, look_alike = identify(w, symbols)
    formula = "".join(f"{s}{c if c > 1 else ''}" for s, c in sorted(Counter(symbols).items()))
    if name and shipped_models(f"md17/{name}"):
        target = f"md17/{name}"
        why = f"{shown} is {name} ({formula} heavy atoms, bonded as {name})"
    else:
        target = "md17/all"
        why = (f"{shown} ({formula}) has {look_alike}'s formula but other bonds" if look_alike
               else f"{shown} ({formula}) is none of the eight MD17 molecules")
    models = shipped_models(target)
    if not models:
        raise ValueError(f"{why}, and no {target} model is shipped to predict it.")
    chosen = model if model in models else ("egno" if "egno" in models else models[0])
    same = target == dataset
    note = f"{why}: predicted with {target}/{chosen}" + (
        "." if same and chosen == model else
        " (the sidebar's card is the one of the model you picked, not of this one).")
    return target, chosen, note
