#!/usr/bin/env bash
# The test command of the README (and of CI): install what is missing,
# build with warnings as errors, run every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Open MPI refuses to start as root unless told; CI machines run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash tools/setup.sh -DLANDERMT_WERROR=ON
ctest --test-dir build --output-on-failure -j2
