#!/usr/bin/env bash
# Simulate the eight MD17-protocol molecules with GFN2-xTB (tblite), one process per molecule,
# smallest first, at low CPU priority so it can run beside training. Resumable: rerun after an
# interruption (finished splits are kept; an unfinished split continues from its partial file).
#   scripts/generate_md17.sh            # all eight, one after another
#   scripts/generate_md17.sh ethanol    # one molecule
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1
for m in ${@:-ethanol malonaldehyde benzene uracil toluene salicylic naphthalene aspirin}; do
  nice -n 19 $PY -W ignore::FutureWarning -m egno data md17 --molecule "$m" --engine xtb --workers 1 --quiet
done
