#!/usr/bin/env bash
# Simulate the eight MD17-protocol molecules with GFN2-xTB (tblite), smallest first, each one's
# segments on all cores at low CPU priority so it can run beside other work. Resumable: rerun
# after an interruption (finished segments and splits are kept).
#   scripts/generate_md17.sh            # all eight, one after another
#   scripts/generate_md17.sh ethanol    # one molecule
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1
for m in ${@:-ethanol malonaldehyde benzene uracil toluene salicylic naphthalene aspirin}; do
  nice -n 19 $PY -W ignore::FutureWarning -m egno data md17 --molecule "$m" --engine xtb --quiet
done
