#!/usr/bin/env bash
# Encoding speed of landermt's tokenizer.json implementation next to the
# Hugging Face `tokenizers` library, one thread each, on the same ~10 MB of
# multilingual text (the machine's gettext translations, every language in
# /usr/share/locale; tools/hf_tokenizer_bench.js), for docs/benchmarks.md.
#
#   bash tools/bench_tokenizer.sh [BUILD_DIR] [CACHE_DIR] [MEGABYTES]
#
# CACHE_DIR is the one of tools/hf_tokenizer_ref.sh (default BUILD_DIR/hfref;
# fetched if missing). Both sides time encoding only, after loading:
# landermt with `tokenize --stats`, the library per line (encode) and in
# blocks of 1000 lines (encodeBatch) with RAYON_NUM_THREADS=1.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
cache=${2:-$build/hfref}
mb=${3:-10}
bash "$src/tools/hf_tokenizer_ref.sh" "$cache" "$(mktemp -d)" >/dev/null 2>&1 ||
  { echo "bench_tokenizer: cannot fetch the reference (tools/hf_tokenizer_ref.sh)" >&2; exit 1; }
text=$cache/bench_${mb}mb.txt
[[ -f $text ]] || node "$src/tools/hf_tokenizer_bench.js" text "$text" "$mb"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'); load $(cut -d' ' -f1-3 /proc/loadavg)"
export NODE_PATH=$cache/node_modules RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false UV_THREADPOOL_SIZE=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for n in llama2 llama3 qwen3 gemma3; do
  echo "== $n ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  "$build/landermt" tokenize --stats "$cache/models/$n" "$text" 2>&1 >/dev/null | sed 's/^/landermt /'
  node "$src/tools/hf_tokenizer_bench.js" encode "$cache/models/$n/tokenizer.json" "$text" | sed 's/^/library  /'
done
