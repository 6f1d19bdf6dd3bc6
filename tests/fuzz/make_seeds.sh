#!/usr/bin/env bash
# Regenerates the seed corpora of tests/fuzz/seeds/ (docs/robustness.md): small,
# valid files of every format the harnesses load, made by landermt itself
# (so they follow the current formats), msgfmt and python3's json module.
#   bash tests/fuzz/make_seeds.sh [build/landermt]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
L=$(realpath "${1:-$root/build/landermt}")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
W=$(mktemp -d "${TMPDIR:-/tmp}/lmseeds.XXXXXX")
trap 'rm -rf "$W"' EXIT
S=$here/seeds
rm -rf "$S"
mkdir -p "$S"/{config,corpus,ckpt,neurons,mo,inputs,safetensors,hf_config,hf_dir,tokenizer}
MARK=$'\n--8<--\n'

# Text inputs: a little bitext and monolingual text.
for i in $(seq 1 12); do
  printf 'the cat %d sat on the mat\tdie Katze %d saß auf der Matte\n' "$i" "$i"
done >"$W/en-de.tsv"
for i in $(seq 1 8); do echo "a small house number $i"; done >"$W/train.en"
for i in $(seq 1 12); do echo "une petite maison numéro $i"; done >"$W/train.fr"
for i in $(seq 1 12); do echo "una piccola casa $i"; done >"$W/it.txt"
{ head -6 "$W/en-de.tsv"; printf '%s' "$MARK"; head -4 "$W/train.en"; printf '%s' "$MARK"
  head -4 "$W/train.fr"; printf '%s' "$MARK"; head -4 "$W/it.txt"; } >"$S/inputs/small"
printf 'a\tb\n\tonly target\nsource only\t\nno tab\nx\ty\tz\n\xff\xfe\tbad utf8\n%s\n%s\n%s\n' \
  "$MARK" "$MARK" "$MARK" >"$S/inputs/odd"

# Configs: the shipped ones and the flow and block styles the tests use.
cp "$root"/configs/*.yaml "$S/config/"
cat >"$S/config/tiny.yaml" <<'YAML'
prep: {output: mt.h5, tsv: ["en-de:en-de.tsv"], languages: [], vocab_size: 300}
model: {vocab_size: 300, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2,
        num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64}
data: {corpus: mt.h5, directions: [en-de, de-en], weights: [1.0, 0.5]}
train: {batch_size: 4, seq_len: 32, steps: 2, lr: 3.0e-3, warmup_steps: 1, out_dir: run}
layers: {selection: list, list: [0, 1]}
YAML

# Corpus, checkpoints, neurons file: a tiny model trained for two steps.
cat >"$W/tiny.yaml" <<YAML
prep: {output: $W/mt.h5, tsv: ["en-de:$W/en-de.tsv"], text: ["en:$W/train.en"], languages: [],
       vocab_size: 300, dev_fraction: 0.25, test_fraction: 0}
model: {vocab_size: 300, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2,
        num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 128}
data: {corpus: $W/mt.h5, directions: [en-de, de-en]}
train: {batch_size: 2, seq_len: 96, steps: 2, lr: 3.0e-3, warmup_steps: 1, eval_every: 1,
        eval_batches: 1, save_every: 1, keep_last: 5, out_dir: $W/base}
detect: {output: $W/neurons.h5, max_sentences: 4, batch_size: 2, split: train}
layers: {k: 1}
YAML
"$L" prep -c "$W/tiny.yaml" >/dev/null
"$L" train -c "$W/tiny.yaml" >/dev/null
"$L" detect -c "$W/tiny.yaml" --set model.checkpoint="$W/base/step_00000002.h5" >/dev/null
FT=(-c "$W/tiny.yaml" --set model.checkpoint="$W/base/step_00000002.h5" --set train.mode=landermt
    --set train.neurons="$W/neurons.h5" --set train.out_dir="$W/lm" --set routing.per_direction=true)
"$L" train "${FT[@]}" >/dev/null
"$L" export "${FT[@]}" "$W/lm/step_00000002.h5" "$W/lm.h5" >/dev/null
cp "$W/mt.h5" "$S/corpus/bpe.h5"
cp "$W/base/step_00000002.h5" "$S/ckpt/training.h5"
cp "$W/lm/step_00000002.h5" "$S/ckpt/trainable.h5"
cp "$W/lm.h5" "$S/ckpt/landermt.h5"
cp "$W/neurons.h5" "$S/neurons/tiny.h5"

# Hugging Face directories and their files: landermt init of tiny configs.
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 300,
         "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
         "num_key_value_heads": 1, "max_position_embeddings": 64, "rms_norm_eps": 1e-05,
         "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
         "bos_token_id": 1, "eos_token_id": 2}
bloom = {"architectures": ["BloomForCausalLM"], "model_type": "bloom", "vocab_size": 300,
         "hidden_size": 8, "n_layer": 2, "n_head": 2, "layer_norm_epsilon": 1e-05,
         "torch_dtype": "float16"}
json.dump(llama, open(f"{w}/llama.json", "w"), indent=1)
json.dump(bloom, open(f"{w}/bloom.json", "w"), indent=1)
PY
"$L" init "$W/llama.json" "$W/llama" --set export.dtype=bfloat16 >/dev/null
"$L" init "$W/bloom.json" "$W/bloom" --set export.dtype=float16 >/dev/null
"$L" init "$W/llama.json" "$W/sharded" --set export.dtype=float32 --set export.max_shard_size=16KB >/dev/null
cp "$W/llama/model.safetensors" "$S/safetensors/llama_bf16.safetensors"
cp "$W/bloom/model.safetensors" "$S/safetensors/bloom_f16.safetensors"
cp "$W/llama.json" "$S/hf_config/llama.json"
cp "$W/bloom.json" "$S/hf_config/bloom.json"
for f in "$root"/tests/fixtures/hf/*/config.json; do
  cp "$f" "$S/hf_config/$(basename "$(dirname "$f")").json"
done
{ cat "$W/llama/config.json"; printf '%s%s' "$MARK" "$MARK"; cat "$W/llama/model.safetensors"; } >"$S/hf_dir/single"
shards=("$W"/sharded/model-*.safetensors)
((${#shards[@]} == 2)) || { echo "expected 2 shards, got ${#shards[@]}" >&2; exit 1; }
{ cat "$W/sharded/config.json"; printf '%s' "$MARK"; cat "$W/sharded/model.safetensors.index.json"
  printf '%s' "$MARK"; cat "${shards[0]}"; printf '%s' "$MARK"; cat "${shards[1]}"; } >"$S/hf_dir/sharded"

# gettext catalogs: plural forms, a context, a non-UTF-8 charset.
cat >"$W/de.po" <<'PO'
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: de\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Open file"
msgstr "Datei öffnen"

msgctxt "menu"
msgid "Quit"
msgstr "Beenden"

msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d Datei"
msgstr[1] "%d Dateien"
PO
cat >"$W/ru.po" <<'PO'
msgid ""
msgstr ""
"Content-Type: text/plain; charset=KOI8-R\n"
"Language: ru\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "%d window"
msgid_plural "%d windows"
msgstr[0] "%d окно"
msgstr[1] "%d окна"
msgstr[2] "%d окон"
PO
iconv -f UTF-8 -t KOI8-R "$W/ru.po" >"$W/ru.koi8.po"
msgfmt -o "$S/mo/de.mo" "$W/de.po"
msgfmt -o "$S/mo/ru.mo" "$W/ru.koi8.po"

# tokenizer.json: byte-level BPE (GPT-2 style), SentencePiece style (byte
# fallback, Metaspace), Llama 3 style (Split regex + ByteLevel), each
# followed by a marker and some text to encode.
python3 - "$S/tokenizer" <<'PY'
import json, sys
out = sys.argv[1]
def byte_chars():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for c in cs]
bl = byte_chars()
vocab = {c: i for i, c in enumerate(bl)}
merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["Ġ", "c"], ["a", "t"], ["Ġc", "at"]]
for a, b in merges:
    vocab.setdefault(a + b, len(vocab))
vocab["<|endoftext|>"] = len(vocab)
level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
gpt2 = {"version": "1.0", "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>",
        "special": True, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False}],
        "normalizer": None, "pre_tokenizer": level, "post_processor": level, "decoder": level,
        "model": {"type": "BPE", "vocab": vocab, "merges": [" ".join(m) for m in merges]}}
sp_vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    sp_vocab[f"<0x{b:02X}>"] = len(sp_vocab)
for t in ["▁", "a", "b", "h", "i", "▁a", "ab", "▁ab", "hi", "▁hi"]:
    sp_vocab[t] = len(sp_vocab)
special = lambda i, c: {"id": i, "content": c, "special": True, "single_word": False,
                        "lstrip": False, "rstrip": False, "normalized": False}
sp = {"version": "1.0", "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                     {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
      "pre_tokenizer": None,
      "post_processor": {"type": "TemplateProcessing",
                         "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                         "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                         "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
      "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                  {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
      "model": {"type": "BPE", "vocab": sp_vocab, "merges": ["▁ a", "a b", "▁a b", "h i", "▁ hi"],
                "byte_fallback": True, "unk_token": "<unk>", "fuse_unk": True}}
regex = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
         "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
l3 = {"version": "1.0", "added_tokens": [], "normalizer": None,
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
          {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
          {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
      "post_processor": None, "decoder": {**level, "add_prefix_space": True},
      "model": {"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": True}}
text = "\n--8<--\nThe cat sat on the mat. 12345 Grüße ab hi\n"
for name, tok in [("gpt2", gpt2), ("sentencepiece", sp), ("llama3", l3)]:
    with open(f"{out}/{name}.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(tok, ensure_ascii=False) + text)
PY
du -sh "$S"/* | sed 's|'"$S"'/||'
