#!/usr/bin/env bash
# The test command of the README (and of CI): install what is missing,
# build with warnings as errors, run every test through ctest; then the
# sanitizer stage (docs/robustness.md): the same code built with clang under
# AddressSanitizer + UBSan (undefined behaviour stops the program) with the
# libFuzzer harnesses of tests/fuzz, in build-asan/, running the unit tests,
# a bounded fuzzing run of every loader and the command-line tests that
# reach the loaders, writers and error paths.
set -euo pipefail
cd "$(dirname "$0")/.."
# Open MPI refuses to start as root unless told; CI machines run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
stage() { echo "test.sh: $1 took $((SECONDS - $2)) s"; }
t=$SECONDS
bash tools/setup.sh -DLANDERMT_WERROR=ON
stage "build" $t; t=$SECONDS
ctest --test-dir build --output-on-failure -j2
stage "tests" $t; t=$SECONDS

# Open MPI's own allocations are never freed: leak reports would fail every run.
export ASAN_OPTIONS=detect_leaks=0
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLANDERMT_ASAN=ON \
  -DLANDERMT_FUZZ=ON -DLANDERMT_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
stage "sanitizer build" $t; t=$SECONDS
# The long end-to-end runs (resume, memory, node-shared state, Hugging Face
# models, tokenizer equality, Slurm, stop and hang timing) stay in the plain
# stage: under the sanitizers they would more than double this stage's time,
# and most of what they run (the training and decoding code, checkpoints,
# Hugging Face files) the tests below run too.
CLI='bad_files|bad_env|prep|train|detect|translate|evaluate|finetune|lora|tokenize|score|bench'
CLI+='|ckpt_h5py|ranks|pack_ranks|stream_ranks|comm_ranks|rank_failure'
ctest --test-dir build-asan --output-on-failure -j2 -R "^(unit\..*|fuzz\..*|cli\.($CLI))\$"
stage "sanitizer tests" $t
