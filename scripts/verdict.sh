#!/usr/bin/env bash
# Set up memgen if needed, then re-run every claim on the embedded default (profile "smoke":
# synthetic CelebA-like faces) and write reports/verdict.json and reports/verdict.html.
# Extra arguments go to `memgen verdict` (e.g. --profile celeba40 --celeba DIR, -k identity).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/memgen verdict "$@"
