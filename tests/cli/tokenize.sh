#!/usr/bin/env bash
# A Hugging Face tokenizer end to end, offline: `landermt tokenize` (encode,
# decode, special tokens, --json, stdin), a model directory given to prep
# (its tokenizer.json stored in the corpus, the corpus tokens equal to what
# tokenize prints), training on that corpus (the checkpoint carries the
# tokenizer), translation with the checkpoint alone, and the refusals: a
# tokenizer larger than the model, a corpus of another tokenizer, bad files
# and bad arguments.
source "$(dirname "$0")/lib.bash"

# A Llama-3-style tokenizer for the synthetic bitext: byte level, every word
# of the lexicon one token (ignore_merges), BOS by template, EOS named in
# tokenizer_config.json.
mkdir -p "$WORK/model"
/usr/bin/python3 - "$WORK/model" <<'PY' || fail "cannot write the tokenizer"
import json, sys
words = ("the cat dog bird sees likes eats a small big red green house tree river man woman child quickly "
         "slowly today der katze hund vogel sieht mag isst ein klein gross rot gruen haus baum fluss mann "
         "frau kind schnell langsam heute").split()
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256 + n); n += 1
chars = [chr(c) for _, c in sorted(zip(bs, cs))]  # id = byte
vocab = {c: i for i, c in enumerate(chars)}
for w in words:
    for t in (w, "\u0120" + w): vocab.setdefault(t, len(vocab))
bos, eos = len(vocab), len(vocab) + 1
added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
          "normalized": False, "special": True} for i, c in ((bos, "<|begin_of_text|>"), (eos, "<|end_of_text|>"))]
bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
       "pre_tokenizer": bl, "decoder": bl,
       "post_processor": {"type": "TemplateProcessing",
                          "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                     {"Sequence": {"id": "A", "type_id": 0}}],
                          "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                          "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos],
                                                                   "tokens": ["<|begin_of_text|>"]}}},
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                 "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                 "vocab": vocab, "merges": []}}
json.dump(tok, open(sys.argv[1] + "/tokenizer.json", "w"), ensure_ascii=False)
json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "pad_token": None},
          open(sys.argv[1] + "/tokenizer_config.json", "w"))
PY
M=$WORK/model
V=$(/usr/bin/python3 -c "import json; print(len(json.load(open('$M/tokenizer.json'))['model']['vocab']) + 2)")

# ---- tokenize
out=$(echo "the cat sees a dog" | "$LANDERMT" tokenize "$M")
[[ $(echo "$out" | tr -cd , | wc -c) -eq 4 ]] && pass || fail "5 words should be 5 tokens: $out"
sp=$(echo "the cat sees a dog" | "$LANDERMT" tokenize --special "$M" -)
[[ $sp == "[$((V - 2)),${out#[}" ]] && pass || fail "--special puts the BOS in front: $sp vs $out"
printf 'the cat\n  two  spaces \n\n' >"$WORK/lines.txt"
"$LANDERMT" tokenize "$M" "$WORK/lines.txt" | "$LANDERMT" tokenize --decode "$M" | cmp -s - "$WORK/lines.txt" \
  && pass || fail "encode + decode does not give the lines back"
echo "$sp" | "$LANDERMT" tokenize --decode "$M" | grep -qx "the cat sees a dog" && pass || fail "decode drops the BOS"
echo "$sp" | "$LANDERMT" tokenize --decode --special "$M" | grep -qx "<|begin_of_text|>the cat sees a dog" \
  && pass || fail "decode --special keeps the BOS"
echo '"a\nb"' | "$LANDERMT" tokenize --json "$M" | "$LANDERMT" tokenize --decode --json "$M" | grep -qx '"a\\nb"' \
  && pass || fail "--json keeps the line break"
"$LANDERMT" tokenize --stats "$M" "$WORK/lines.txt" 2>&1 >/dev/null | grep -q "encoded 3 lines" \
  && pass || fail "--stats"

# ---- bad arguments and files
expect_exit 2 "'landermt tokenize' takes at least 1 file argument" "$LANDERMT" tokenize
expect_exit 2 "unknown option '--frobnicate'" "$LANDERMT" tokenize --frobnicate "$M"
expect_exit 2 "unexpected argument '--special'" "$LANDERMT" inspect --special "$M"
expect_exit 1 "tokenizer $WORK/none: No such file" "$LANDERMT" tokenize "$WORK/none"
mkdir -p "$WORK/empty"
expect_exit 1 "tokenizer $WORK/empty: the directory has no tokenizer.json" "$LANDERMT" tokenize "$WORK/empty"
expect_exit 1 "not an HDF5 file .*and not a tokenizer.json" "$LANDERMT" tokenize "$WORK/lines.txt"
mkdir -p "$WORK/bad"
head -c 3000 "$M/tokenizer.json" >"$WORK/bad/tokenizer.json"
expect_exit 1 "bad/tokenizer.json: invalid JSON at line 1, column [0-9]+: premature end of input" "$LANDERMT" tokenize "$WORK/bad"
sed 's/"type": "BPE"/"type": "Unigram"/' "$M/tokenizer.json" >"$WORK/bad/tokenizer.json"
expect_exit 2 "model.type: model \"Unigram\" is not supported" "$LANDERMT" tokenize "$WORK/bad"
printf '[1,2]\n[1,"x"]\n' >"$WORK/ids.txt"
expect_exit 1 "tokenize --decode input line 2: expected a JSON array" "$LANDERMT" tokenize --decode "$M" "$WORK/ids.txt"

# ---- prep with the model directory: the corpus stores the tokenizer.json
make_mt_corpus  # tiny_mt.yaml, and a BPE corpus mt.h5 to compare with
cp "$WORK/mt.h5" "$WORK/bpe.h5"
"$LANDERMT" prep -c "$WORK/tiny_mt.yaml" --set prep.tokenizer="$M" >"$WORK/prep.log" 2>&1 || fail "prep: $(tail -3 "$WORK/prep.log")"
grep -q "^tokenizer: Hugging Face tokenizer.json (BPE, 0 merges, 2 added tokens), vocab $V, bos <|begin_of_text|>, eos <|end_of_text|>, pad none, hash [0-9a-f]\{16\} from $M$" \
  "$WORK/prep.log" && pass || fail "prep's tokenizer line: $(grep tokenizer: "$WORK/prep.log")"
"$LANDERMT" inspect "$WORK/mt.h5" | grep -q "^tokenizer: Hugging Face tokenizer.json" && pass || fail "inspect"
/usr/bin/python3 - "$WORK/mt.h5" "$WORK" <<'PY' || fail "cannot read the corpus"
import sys, h5py, json
with h5py.File(sys.argv[1], "r") as f:
    g = f["bitext/en-de/test"]
    text, tok, off = g["src_text"].asstr()[()], g["src_tokens"][()], g["src_offsets"][()]
    t = f["tokenizer"]
    assert t.attrs["type"] == "hf" and t.attrs["eos_token"] == "<|end_of_text|>", "tokenizer attributes"
    json.loads(bytes(t["tokenizer_json"][()]).decode())
with open(sys.argv[2] + "/test_src.txt", "w") as a, open(sys.argv[2] + "/test_ids.txt", "w") as b:
    for i, s in enumerate(text):
        a.write(s + "\n"); b.write(json.dumps([int(x) for x in tok[off[i]:off[i + 1]]], separators=(",", ":")) + "\n")
PY
"$LANDERMT" tokenize "$M" "$WORK/test_src.txt" | cmp -s - "$WORK/test_ids.txt" && pass \
  || fail "the corpus tokens differ from landermt tokenize"
"$LANDERMT" tokenize "$WORK/mt.h5" "$WORK/test_src.txt" | cmp -s - "$WORK/test_ids.txt" && pass \
  || fail "the corpus's own tokenizer encodes differently"

# ---- training and translation with it; refusals
"$LANDERMT" train -c "$WORK/tiny_mt.yaml" --set train.steps=30 --set train.save_every=0 --set train.eval_every=0 \
  >"$WORK/train.log" 2>&1 || fail "training on the corpus: $(tail -3 "$WORK/train.log")"
CK=$WORK/base/step_00000030.h5
"$LANDERMT" inspect "$CK" | grep -q "^tokenizer: Hugging Face tokenizer.json" && pass || fail "the checkpoint has no HF tokenizer"
head -5 "$WORK/test_src.txt" | "$LANDERMT" translate -c "$WORK/tiny_mt.yaml" --set model.checkpoint="$CK" \
  --set translate.direction=en-de --set translate.input=- --set data.corpus= --set translate.max_new_tokens=8 \
  >"$WORK/tr.txt" 2>"$WORK/tr.err" || fail "translate with the checkpoint's tokenizer: $(tail -3 "$WORK/tr.err")"
[[ $(wc -l <"$WORK/tr.txt") -eq 5 ]] && pass || fail "5 sentences gave $(wc -l <"$WORK/tr.txt") lines"
# exported as a Hugging Face directory: its tokenizer.json is the one in
# /tokenizer, and the directory alone translates the same
"$LANDERMT" export -c "$WORK/tiny_mt.yaml" --set export.format=hf "$CK" "$WORK/hfout" >"$WORK/export.log" 2>&1 \
  || fail "export: $(tail -3 "$WORK/export.log")"
cmp -s "$WORK/hfout/tokenizer.json" "$M/tokenizer.json" && pass || fail "exported tokenizer.json differs from the source's"
head -5 "$WORK/test_src.txt" | "$LANDERMT" translate -c "$WORK/tiny_mt.yaml" --set model.checkpoint="$WORK/hfout" \
  --set translate.direction=en-de --set translate.input=- --set data.corpus= --set translate.max_new_tokens=8 \
  2>"$WORK/tr2.err" | cmp -s - "$WORK/tr.txt" && pass || fail "the exported directory translates differently: $(tail -3 "$WORK/tr2.err")"
expect_exit 1 "has a tokenizer of $V tokens but the model's vocab_size is 300" \
  "$LANDERMT" train -c "$WORK/tiny_mt.yaml" --set model.vocab_size=300 --set train.out_dir="$WORK/small"
expect_exit 1 "corpus $WORK/bpe.h5 has another tokenizer" "$LANDERMT" translate -c "$WORK/tiny_mt.yaml" \
  --set model.checkpoint="$CK" --set translate.direction=en-de --set data.corpus="$WORK/bpe.h5"
expect_exit 1 "prep.tokenizer $M has no special token <2de>" "$LANDERMT" prep -c "$WORK/tiny_mt.yaml" \
  --set prep.tokenizer="$M" --set prep.lang_tags=true --set prep.output="$WORK/tags.h5"
finish
