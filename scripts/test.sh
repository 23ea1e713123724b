#!/usr/bin/env bash
# Set up memgen if needed, then run the whole test suite as CI does: unit and property tests,
# the claims on the embedded default (training the smoke zoo on a cache miss), and the benchmarks
# at their CI size. Writes reports/verdict.{json,html} as a side effect.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Chromium renders the HTML report in one test; install it where we may (root with apt), else that test skips.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "memgen test: could not install chromium; the rendering test will be skipped"
fi
set +e
.venv/bin/python -m pytest tests claims benchmarks -m "not slow" --benchmark-disable-gc --benchmark-min-rounds=1 "$@"
rc=$?
# The model claims once more on real images: the reduced Fashion-MNIST profile (8 models, ~8 minutes
# on two cores; its own predictions). Its report goes beside the smoke one.
.venv/bin/python -m pytest claims -m zoo --profile fashion_ci --report-dir reports/fashion_ci "$@"
rc_fashion=$?
if [ "$rc" = 0 ]; then rc=$rc_fashion; fi
set -e
if [ "$rc" = 5 ]; then
  echo "memgen test: pytest collected no tests, which is a failure" >&2
  exit 1
fi
exit "$rc"
