#!/usr/bin/env bash
# A longer fuzzing run of the loaders (docs/robustness.md, "Fuzzing"):
#   bash tools/fuzz.sh [MINUTES per loader, default 10] [LOADER...]
# LOADER: config corpus ckpt neurons mo inputs safetensors hf_config hf_dir
# tokenizer (default: all). Builds build-asan/ (clang, ASan + UBSan, libFuzzer)
# when needed. The corpus each run grows is kept in build-asan/fuzz-corpus/LOADER
# (a second run continues from it); a finding is written to
# build-asan/tests/fuzz/fuzz-findings/LOADER/ with the command that replays it.
# Fix it, then keep the input in tests/fuzz/regressions/LOADER/ under a name
# that says what it was.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
# libFuzzer reads a total time of 0 as "no limit"
[[ $minutes =~ ^[1-9][0-9]*$ ]] || { echo "usage: tools/fuzz.sh [MINUTES >= 1] [LOADER...]" >&2; exit 2; }
shift || true
loaders=("$@")
((${#loaders[@]})) || loaders=(config corpus ckpt neurons mo inputs safetensors hf_config hf_dir tokenizer)
export ASAN_OPTIONS=detect_leaks=0 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [[ ! -x build-asan/tests/fuzz/fuzz_config ]]; then
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLANDERMT_ASAN=ON \
    -DLANDERMT_FUZZ=ON >/dev/null
fi
cmake --build build-asan -j"$(nproc)" >/dev/null
failed=()
for l in "${loaders[@]}"; do
  [[ -x build-asan/tests/fuzz/fuzz_$l ]] || { echo "tools/fuzz.sh: no loader $l (tests/fuzz/fuzz_$l.c)" >&2; exit 2; }
done
for l in "${loaders[@]}"; do
  echo "== $l: $minutes min"
  FUZZ_CORPUS="build-asan/fuzz-corpus/$l" bash tests/fuzz/run.sh "build-asan/tests/fuzz/fuzz_$l" "$l" \
    $((minutes * 60)) || failed+=("$l")
done
((${#failed[@]} == 0)) || { echo "findings in: ${failed[*]}"; exit 1; }
echo "no findings"
