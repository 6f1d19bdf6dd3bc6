#!/usr/bin/env bash
# One bounded fuzzing run (ctest fuzz.<loader>, tools/fuzz.sh):
#   run.sh HARNESS LOADER SECONDS [libFuzzer options...]
# Replays tests/fuzz/seeds/LOADER and tests/fuzz/regressions/LOADER, then
# mutates for SECONDS. New coverage goes to a scratch corpus (or $FUZZ_CORPUS),
# a finding to $FUZZ_ARTIFACTS (default: the build directory), printed with
# the command that replays it.
set -euo pipefail
harness=$1 loader=$2 seconds=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
artifacts=${FUZZ_ARTIFACTS:-$(dirname "$harness")/fuzz-findings/$loader}
mkdir -p "$artifacts"
corpus=${FUZZ_CORPUS:-}
if [[ -z $corpus ]]; then
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/lmfuzz-corpus.XXXXXX")
  trap 'rm -rf "$corpus"' EXIT
fi
mkdir -p "$corpus"
dirs=("$corpus" "$here/seeds/$loader")
[[ -d $here/regressions/$loader ]] && dirs+=("$here/regressions/$loader")
# -timeout: an input that runs this long is a hang; -malloc_limit_mb: one
# allocation this large is a size taken from the input unchecked.
"$harness" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -detect_leaks=0 -close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$@" "${dirs[@]}" 2>"$artifacts/log" && rc=0 || rc=$?
grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::new_units_added)" "$artifacts/log" || true
if ((rc == 0)); then
  # Files written by the child processes that read HDF5 metadata (io/h5_probe.c) when
  # HDF5 crashed there: contained, reported as damaged files, not findings.
  rm -f "$artifacts"/crash-*
else
  grep -E "ERROR|FINDING|SUMMARY|Test unit written" "$artifacts/log" | head -20
  echo "fuzz.$loader: finding; replay with: $harness $artifacts/<crash file> (log: $artifacts/log)"
fi
exit $rc
