#!/usr/bin/env bash
# Install the project with its test extras (editable; Debian chromium when missing and root), run pytest
# on two workers: the quick suite by default (tests marked slow left out), everything with --all.
#   ./test.sh                    the quick suite (a few minutes)
#   ./test.sh --all              everything, as CI runs it
#   ./test.sh [--all] ARGS...    any pytest arguments after it (paths, -k, -x ...)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --disable-pip-version-check -q -e ".[dev]"
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
select=(-m "not slow")
if [ "${1:-}" = "--all" ]; then
  select=()
  shift
fi
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "${select[@]}" "$@"
