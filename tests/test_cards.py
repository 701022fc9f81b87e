"""The command in every shipped card reproduces the card's configs, no shipped run diverged, and
egno.run.checkpoint.rerun_command (scripts/experiments/seed_spread.py) reruns that command with only
the seed, output folder and device changed."""
from __future__ import annotations

import json
import math
import shlex
import sys
from dataclasses import replace

import pytest

from egno.__main__ import parser, train_configs
from egno.run.checkpoint import rerun_command, run_commands, shipped_card
from egno.nn.config import ModelConfig, TrainConfig
from egno.paths import CHECKPOINTS as ASSETS
from egno.run.checkpoint import ENSEMBLE, VARIANTS

# checkpoints' cards (a deep ensemble's own card, ensemble/<model>.json, has no checkpoint beside it)
CARDS = sorted(p for p in ASSETS.rglob("*.json") if p.with_suffix(".pt").exists())


def _configs(command: list[str]):
    return train_configs(parser().parse_args(command))


@pytest.mark.parametrize("path", CARDS, ids=[str(p.relative_to(ASSETS)) for p in CARDS])
def test_card_command_gives_the_card_configs(path):
    card = json.loads(path.read_text())
    words = shlex.split(card["command"])
    assert words[:4] == ["python", "-m", "egno", "train"]
    mc, tc = _configs(words[3:])
    folder = path.parent.relative_to(ASSETS)
    if folder.name in VARIANTS:  # a shipped variant of the dataset's model (variant_checkpoint)
        assert f"--ship-as {folder.name}/{card['model']}" in card["command"]
        folder = folder.parent
    elif folder.name == ENSEMBLE:  # a deep ensemble's member: the shipped command, its own seed
        assert path.stem == f"{card['model']}-{tc.seed}"
        folder = folder.parent
    assert (mc.model, card["dataset"]) == (card["model"], folder.as_posix())
    # configs compare as dataclasses: a card written before a key existed has its default
    assert ModelConfig.from_dict(card["model_config"]) == mc
    assert TrainConfig(**card["train_config"]) == tc


@pytest.mark.parametrize("path", CARDS, ids=[str(p.relative_to(ASSETS)) for p in CARDS])
def test_no_shipped_run_diverged(path):
    """A shipped model comes from a run whose training loss stayed finite: a diverged run's best
    weights are those of its first epochs (scripts/train_md17.sh trains such a model again at a
    lower learning rate)."""
    card = json.loads(path.read_text())
    bad = [h["epoch"] for h in card["history"] if not math.isfinite(h["train_loss"])]
    assert not bad, f"non-finite training loss from epoch {bad[0] if bad else None}"
    assert not card["stop_reason"].startswith("diverged")


def test_seed_spread_changes_only_seed_output_and_device(tmp_path):
    card = json.loads((ASSETS / "protein" / "adk" / "egno.json").read_text())
    shipped_mc, shipped_tc = _configs(shlex.split(card["command"])[3:])
    for device in (None, "cuda"):
        cmd = rerun_command(card, 7, tmp_path / "run", device)
        assert cmd[1:3] == ["-m", "egno"] and "--ship" not in cmd
        a = parser().parse_args(cmd[3:])
        assert (a.seed, a.out, a.device) == (7, str(tmp_path / "run"), device)
        mc, tc = train_configs(a)
        assert mc == shipped_mc and tc == replace(shipped_tc, seed=7)


def test_shipped_card_reads_variants_and_says_what_is_missing():
    assert shipped_card("nbody", "long/egno")["command"].endswith("--ship-as long/egno")
    assert shipped_card("nbody", "no-such-model") is None
    with pytest.raises(FileNotFoundError, match="no shipped no-such-model for nbody"):
        shipped_card("nbody", "no-such-model", required=True)


def test_run_commands_runs_side_by_side_and_counts_failures(tmp_path, capsys):
    """Every command runs (two at once here, in ``cwd``), each exit status is printed, and the
    failures are counted rather than stopping the others."""
    cmds = [[sys.executable, "-c", f"open('{name}', 'w').write('x'); raise SystemExit({code})"]
            for name, code in (("a", 0), ("b", 3), ("c", 0))]
    assert run_commands(cmds, jobs=2, cwd=tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]
    out = capsys.readouterr()
    assert out.out.count("exit 0:") == 2 and "exit 3:" in out.out and "1 of 3 runs failed" in out.err
