#!/usr/bin/env bash
# Installs the Debian 12 packages landermt needs (when missing) and builds
# it into ./build. Safe to re-run. Usage: bash tools/setup.sh [cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config git
          libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
          libopenblas-dev libyaml-dev python3 python3-h5py python3-numpy gettext
          libjansson-dev libpcre2-dev libutf8proc-dev python3-matplotlib
          clang libclang-rt-14-dev libomp-dev)
# Beyond the fixed stack (docs/architecture.md): jansson parses JSON
# (config.json, safetensors headers, tokenizer.json) with line/column errors,
# PCRE2 runs the tokenizers' Unicode regexes, utf8proc normalises Unicode;
# matplotlib draws the demo's plots; clang with its sanitizer and libFuzzer
# runtimes (and LLVM's OpenMP) builds the sanitizer stage of tools/test.sh.
# libmvec (glibc's vector expf, src/model/vexp.c) comes with libc6-dev, which
# build-essential installs.

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm fetch the `tokenizers` reference of tests/cli/hf_equality.sh;
# a Node.js from elsewhere (e.g. NodeSource, which bundles npm) is fine.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$(nproc)"
echo "setup: built build/landermt"
