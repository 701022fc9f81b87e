"""Checkpoints: config + weights + normalisation + card (provenance, metrics). One loader for all.

A checkpoint is a plain dict saved with ``torch.save`` and loaded with ``weights_only=True``, so a
file cannot run code when loaded. Its card is also written beside it as JSON.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from egno.nn.config import ModelConfig
from egno.paths import CHECKPOINTS
from egno.nn.zoo import build_model

FORMAT = "egno-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable EGNO checkpoint (not one at all, truncated, or incompatible)."""


@dataclass
class LoadedModel:
    model: nn.Module
    config: ModelConfig
    card: dict
    path: Path

    @property
    def name(self) -> str:
        return self.config.model


def save_checkpoint(path: Path, model: nn.Module, config: ModelConfig, card: dict,
                    normalisation: dict | None = None) -> Path:
    """Write ``path`` (.pt) and ``path.with_suffix('.json')`` (the card)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    card = json.loads(json.dumps(card))  # plain JSON types only: loadable with weights_only=True
    blob = {"format": FORMAT, "version": VERSION, "config": config.to_dict(), "state_dict": state,
            "normalisation": normalisation or {}, "card": card}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return path


def load_checkpoint(path: Path | str, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint into a ready model (eval mode) on ``device``.

    Raises CheckpointError with a clear message for a missing file, a file that is not a
    checkpoint, a truncated one, or one from an incompatible format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to parse an untrusted file means "unreadable"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable EGNO checkpoint (truncated, corrupt or "
                              f"another kind of file): {first}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an EGNO checkpoint (no '{FORMAT}' format tag)")
    if blob.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {blob.get('version')} is not "
                              f"supported (this egno reads version {VERSION}); retrain or convert it")
    try:
        config = ModelConfig.from_dict(blob["config"])
        model = build_model(config)
        model.load_state_dict(blob["state_dict"])
    except (KeyError, AssertionError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{path}: checkpoint does not match this egno's models: {e}") from None
    model.to(device).eval()
    return LoadedModel(model=model, config=config, card=blob.get("card", {}), path=path)


def shipped_path(dataset: str, model: str) -> Path:
    """Where the shipped checkpoint for (dataset, model) lives: assets/checkpoints/<dataset>/<model>.pt."""
    return CHECKPOINTS / dataset / f"{model}.pt"


def resolve_checkpoint(dataset: str, model: str, device: str | torch.device = "cpu") -> LoadedModel:
    """Load the shipped checkpoint for (dataset, model)."""
    path = shipped_path(dataset, model)
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.pt")) if path.parent.exists() else []
        raise CheckpointError(f"no shipped checkpoint for {dataset}/{model} (have: {have or 'none'}); "
                              f"train one with `python -m egno train --dataset {dataset} --model {model}`")
    return load_checkpoint(path, device)


VARIANTS = ("uncertainty", "long")  # folders of shipped variants beside a dataset's models


def variant_checkpoint(dataset: str, variant: str, model: str = "egno") -> LoadedModel | None:
    """The shipped ``variant`` of a model (``uncertainty``: with a variance head; ``long``:
    trained to be chained), kept in assets/checkpoints/<dataset>/<variant>/ beside the shipped
    models; None when there is none."""
    path = shipped_path(dataset, f"{variant}/{model}")
    return load_checkpoint(path) if path.exists() else None


def chaining_checkpoint(dataset: str, model: str, device: str | torch.device = "cpu") -> LoadedModel:
    """The checkpoint chained rollouts use for (dataset, model): the shipped ``long`` variant
    (trained to be chained) where there is one, else the shipped model."""
    path = shipped_path(dataset, f"long/{model}")
    return load_checkpoint(path, device) if path.exists() else resolve_checkpoint(dataset, model, device)


ENSEMBLE = "ensemble"  # folder of a deep ensemble's other members, beside the shipped model


def ensemble_folder(dataset: str) -> Path:
    """assets/checkpoints/<dataset>/ensemble/: the other members (<model>-<seed>.pt, with their
    cards) and the ensemble's own card (<model>.json)."""
    return CHECKPOINTS / dataset / ENSEMBLE


def ensemble_paths(dataset: str, model: str = "egno") -> list[Path]:
    """The checkpoints of the shipped deep ensemble of (dataset, model): the shipped model first,
    then the other members; [] when none is shipped."""
    others = sorted(ensemble_folder(dataset).glob(f"{model}-*.pt"))
    return [shipped_path(dataset, model), *others] if others else []


def shipped_card(dataset: str, model: str, required: bool = False) -> dict | None:
    """The card of a shipped checkpoint (``model`` may name a variant, e.g. long/egno); None when
    there is none, or FileNotFoundError with ``required``."""
    path = shipped_path(dataset, model).with_suffix(".json")
    if path.exists():
        return json.loads(path.read_text())
    if required:
        raise FileNotFoundError(f"no shipped {model} for {dataset}: {path} is missing")
    return None


def ensemble_card(dataset: str, model: str = "egno") -> dict | None:
    """The shipped ensemble's card (members, recalibration scale, test scores), or None."""
    path = ensemble_folder(dataset) / f"{model}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ensemble_flag(dataset: str, model: str = "egno") -> dict | None:
    """The shipped ensemble's no-longer-predictable threshold and how it fared (``egno ensemble
    --flag``: ensemble/<model>-flag.json), or None."""
    path = ensemble_folder(dataset) / f"{model}-flag.json"
    return json.loads(path.read_text()) if path.exists() else None


def shipped_models(dataset: str) -> list[str]:
    folder = CHECKPOINTS / dataset
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.exists() else []


# flags of a card's command that rerun_command sets itself (value-taking unless listed in _FLAGS)
_REPLACED = {"--seed", "--out", "--threads", "--device", "--ship", "--ship-as", "--quiet"}
_FLAGS = {"--ship", "--quiet"}


def rerun_command(card: dict, seed: int, out: Path, device: str | None,
                  override: dict[str, str] | None = None) -> list[str]:
    """The card's training command (``card['command']``) with seed, output folder and device
    replaced, and each ``override`` flag set to its value: how a shipped model is retrained with
    another seed, on another device or with another schedule."""
    words = shlex.split(card["command"])
    assert words[:3] == ["python", "-m", "egno"], f"not a training command: {card['command']}"
    args, i = [], 3
    while i < len(words):
        if words[i] in _REPLACED or words[i] in (override or {}):
            i += 1 if words[i] in _FLAGS else 2
            continue
        args.append(words[i])
        i += 1
    args += ["--seed", str(seed), "--out", str(out), "--quiet"]
    # one CPU thread per run on a GPU too: runs started side by side would otherwise oversubscribe
    args += ["--threads", "1"] + (["--device", device] if device else [])
    args += [word for flag, value in (override or {}).items() for word in (flag, value)]
    return [sys.executable, "-m", "egno", *args]


def run_commands(commands: list[list[str]], jobs: int = 1, cwd: Path | None = None) -> int:
    """Run ``commands`` (e.g. :func:`rerun_command`'s), ``jobs`` at once, printing each one's exit
    status as it ends; returns how many failed (each run is resumable, so rerunning retries them)."""
    from concurrent.futures import ThreadPoolExecutor

    def run(cmd: list[str]) -> int:
        code = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL).returncode
        print(f"exit {code}: {shlex.join(cmd[1:])}", flush=True)
        return code

    with ThreadPoolExecutor(jobs) as pool:
        failed = sum(code != 0 for code in pool.map(run, commands))
    if failed:
        print(f"{failed} of {len(commands)} runs failed", file=sys.stderr)
    return failed
