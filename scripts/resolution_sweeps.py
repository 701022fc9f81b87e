"""Compute the default resolution sweep (egno/service/sweeps.py) of every dataset with shipped
checkpoints and write it to assets/sweeps/<dataset>.json, which the Resolution page draws on
arrival. Prints each sweep's wall time (one torch thread, as the app runs it).

    .venv/bin/python scripts/resolution_sweeps.py [dataset ...]
"""
from __future__ import annotations

import sys
import time

import torch

from egno import get_dataset, resolve_checkpoint
from egno.run.checkpoint import shipped_models
from egno.data import dataset_names
from egno.service.inference import resolution_sweep, test_windows
from egno.service.sweeps import default_settings, save_sweep


def main(datasets: list[str]) -> None:
    torch.set_num_threads(1)
    for dataset in datasets or [d for d in dataset_names() if "egno" in shipped_models(d)]:
        family = get_dataset(dataset)
        n_test = len(test_windows(family, generate=True))
        settings = default_settings(family, shipped_models(dataset), n_test)
        loaded = {m: resolve_checkpoint(dataset, m) for m in settings.models}
        n = settings.n_samples
        windows = {p: test_windows(family, p).select(range(n)) for p in settings.ps}
        began = time.perf_counter()
        table = resolution_sweep(loaded, family, settings.ps, windows_at=windows.__getitem__)
        seconds = time.perf_counter() - began
        path = save_sweep(dataset, settings, table, seconds)
        print(f"{dataset}: {len(table)} rows, {n} samples, P {settings.ps}, "
              f"{', '.join(settings.models)}: {seconds:.1f} s -> {path}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
