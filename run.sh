#!/usr/bin/env bash
# Start EGNO Explorer on the shipped checkpoints: creates .venv if missing, installs the project.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.pyproject.sha256
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install --disable-pip-version-check -q -e .
  echo "$want" > "$stamp"
fi
exec .venv/bin/streamlit run app/main.py \
  --server.address 127.0.0.1 --server.port "${PORT:-8501}" --server.headless true
