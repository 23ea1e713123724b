#!/usr/bin/env bash
# Set up memgen if needed, then run the whole test suite as CI does: unit and property tests,
# the claims on the embedded default (training the smoke zoo on a cache miss), and the benchmarks
# at their CI size. Writes reports/verdict.{json,html} as a side effect.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Chromium renders the HTML report in one test, and the tests marked slurm need Slurm and munge
# (scripts/slurm-local.sh); install them where we may (root with apt: one apt-get update for both),
# else those tests skip, saying why.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
  && ! { command -v chromium && command -v slurmctld && command -v munged; } >/dev/null 2>&1; then
  apt-get update -qq </dev/null && export MEMGEN_APT_UPDATED=1 || echo "memgen test: apt-get update failed"
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null </dev/null \
    || echo "memgen test: could not install chromium; the rendering test will be skipped"
fi
# a one-node Slurm cluster for the tests marked slurm, stopped (daemons ended, state deleted) on any
# exit; one that was already running is left running
if bash scripts/slurm-local.sh status >/dev/null 2>&1; then
  bash scripts/slurm-local.sh status
else
  trap 'bash scripts/slurm-local.sh stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  bash scripts/slurm-local.sh start
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
