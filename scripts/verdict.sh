#!/usr/bin/env bash
# Set up memgen if needed, then re-run every claim on the embedded default (profile "smoke":
# synthetic CelebA-like faces) and write reports/verdict.json and reports/verdict.html.
# Extra arguments go to `memgen verdict` (e.g. --profile celeba40 --celeba DIR, -k identity).
# The setup's wall and CPU time go into verdict.json's phases (via $MEMGEN_PHASES).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s.%N)
bash scripts/setup.sh
end=$(date +%s.%N)
# CPU seconds of this shell's finished children (the setup), from the `times` builtin's second line
times_file=$(mktemp)
times > "$times_file"  # not in a pipe: a subshell would report its own (empty) children
cpu=$(tail -n 1 "$times_file" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.3f", t }')
rm -f "$times_file"
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
export MEMGEN_PHASES="{\"setup\": {\"wall_s\": $wall, \"cpu_s\": $cpu, \"note\": \"scripts/setup.sh\"}}"
exec .venv/bin/memgen verdict "$@"
