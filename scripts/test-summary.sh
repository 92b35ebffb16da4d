#!/usr/bin/env bash
# Runs the command, shows its output, and ends with one line totalling what the test
# runners reported (cargo's "test result", Vitest's "Tests", node's "# pass/# fail"):
# "N passed, N failed".
set -uo pipefail
log=$(mktemp)
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
  /^ *Tests +[0-9]/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  /^# pass [0-9]+$/ { p += $3 }
  /^# fail [0-9]+$/ { f += $3 }
  END { printf "%d passed, %d failed\n", p, f }'
rm -f "$log"
exit "$rc"
