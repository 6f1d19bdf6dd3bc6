#!/usr/bin/env bash
# Load time and peak memory of a Hugging Face directory vs a landermt
# checkpoint (docs/benchmarks.md): a llama-shaped model of ~158 M parameters
# (632 MB as float32), single file vs 100 MB shards, float32 vs bfloat16.
# Each load is `landermt logprob` of one 1-token line (no forward pass), so
# the time is start-up + load; a tiny model gives the start-up alone.
#
#   bash tools/bench_load.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
BIN=${1:-build}/landermt
W=${2:-/tmp/lm_bench_load}
rm -rf "$W" && mkdir -p "$W"
cat >"$W/config.json" <<'JSON'
{"model_type": "llama", "vocab_size": 32000, "hidden_size": 1024, "intermediate_size": 2816,
 "num_hidden_layers": 8, "num_attention_heads": 16, "num_key_value_heads": 8,
 "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "bos_token_id": 1, "eos_token_id": 2}
JSON
sed 's/"vocab_size": 32000, "hidden_size": 1024, "intermediate_size": 2816/"vocab_size": 32, "hidden_size": 16, "intermediate_size": 16/; s/"num_attention_heads": 16, "num_key_value_heads": 8/"num_attention_heads": 2, "num_key_value_heads": 2/' \
  "$W/config.json" >"$W/tiny.json"
echo '[1]' >"$W/line.txt"

# measure REPEATS LABEL CMD...: best wall seconds and peak RSS (MB) of CMD
# over REPEATS runs (the machine is shared: the best run is the least disturbed)
measure() {
  local n=$1 label=$2 best=1e9 peak=0; shift 2
  for ((i = 0; i < n; i++)); do
    /usr/bin/time -f "%e %M" -o "$W/time.txt" "$@" >/dev/null 2>"$W/err.txt" || { cat "$W/err.txt"; exit 1; }
    read -r sec kb <"$W/time.txt"
    best=$(awk -v a="$best" -v b="$sec" 'BEGIN { print (b < a) ? b : a }')
    ((kb > peak)) && peak=$kb
  done
  printf "| %-44s | %6.2f | %7.0f |\n" "$label" "$best" "$((peak / 1024))"
}
load() { measure 3 "$1" "$BIN" logprob --set model.checkpoint="$2" --set logprob.input="$W/line.txt" --set logprob.add_bos=false; }

echo "| step | seconds | peak RSS MB |"
echo "|---|---:|---:|"
measure 1 "init float32, single file" "$BIN" init "$W/config.json" "$W/f32"
measure 1 "init bfloat16, 100 MB shards" "$BIN" init "$W/config.json" "$W/bf16_sh" --set export.dtype=bfloat16 --set export.max_shard_size=100MB
"$BIN" init "$W/config.json" "$W/f32_sh" --set export.max_shard_size=100MB >/dev/null 2>&1
"$BIN" init "$W/config.json" "$W/bf16" --set export.dtype=bfloat16 >/dev/null 2>&1
"$BIN" init "$W/tiny.json" "$W/tiny" >/dev/null 2>&1
"$BIN" convert "$W/f32" "$W/f32.h5" >/dev/null 2>&1
measure 3 "inspect (validate, scan values), float32" "$BIN" inspect "$W/f32"
load "start-up alone (tiny model)" "$W/tiny"
load "load float32, single file" "$W/f32"
load "load float32, 100 MB shards" "$W/f32_sh"
load "load bfloat16, single file" "$W/bf16"
load "load bfloat16, 100 MB shards" "$W/bf16_sh"
load "load landermt checkpoint (HDF5, float32)" "$W/f32.h5"
du -sh "$W/f32" "$W/f32_sh" "$W/bf16" "$W/bf16_sh" "$W/f32.h5" | sed 's/^/# /'

# BIG=1: a 2.86 GB bfloat16 BLOOM-shaped directory (BLOOM-7b1's vocabulary and
# width, 2 layers): init and inspect stay small whatever the model's size.
if [[ -n "${BIG:-}" ]]; then
  cat >"$W/bloom_2l.json" <<'JSON'
{"model_type": "bloom", "vocab_size": 250880, "hidden_size": 4096, "n_layer": 2, "n_head": 32,
 "layer_norm_epsilon": 1e-05, "torch_dtype": "bfloat16", "seq_length": 2048}
JSON
  measure 1 "init BLOOM-shaped 1.43B, bfloat16" "$BIN" init "$W/bloom_2l.json" "$W/bloom_2l" --set export.dtype=source
  measure 1 "inspect it (2.86 GB)" "$BIN" inspect "$W/bloom_2l"
fi
