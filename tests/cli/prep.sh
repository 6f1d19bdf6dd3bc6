#!/usr/bin/env bash
# `landermt prep` end to end on small generated inputs: TSV, Moses, text and
# gettext catalogs compiled with msgfmt. The corpus is checked with h5py
# (a declared dependency) and a small BPE decoder: layout, split rule,
# cleaning counts, order independence, tokenizer reuse, and a clear error
# with the right exit status for every kind of bad input.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
"$PY" -c 'import h5py' 2>/dev/null || { echo "FAIL: $PY cannot import h5py (python3-h5py)"; exit 1; }
command -v msgfmt >/dev/null || { echo "FAIL: msgfmt missing (Debian package gettext)"; exit 1; }
D=$WORK/in
mkdir -p "$D"

# ---------------------------------------------------------------- inputs
# 40 English sentences shared by en-de (TSV), de-en (TSV) and en-fr (Moses):
# each must land in one split in every direction.
for i in $(seq 1 40); do
  printf 'the red house number %d is open\tdas rote Haus Nummer %d ist offen\n' "$i" "$i"
done >"$D/a.tsv"
{
  head -2 "$D/a.tsv"                          # 2 duplicates
  printf 'Firefox\tFirefox\n'                 # identical
  printf '%%s\t%%s\n'                         # format only
  printf 'Save as\t\n'                        # untranslated
  printf 'no tab at all\n'                    # malformed
  printf 'one\ttwo\tthree\n'                  # malformed
  printf 'bad \xff byte\tschlecht\n'          # invalid UTF-8
  printf '\n'                                 # blank: ignored
} >>"$D/a.tsv"
awk -F'\t' 'NR <= 40 {print $2 "\t" $1}' "$D/a.tsv" >"$D/b.tsv"
for i in $(seq 1 40); do echo "the red house number $i is open"; done >"$D/m.en"
for i in $(seq 1 40); do echo "la maison rouge numéro $i est ouverte"; done >"$D/m.fr"
echo "one more line" >>"$D/m.en"
printf 'une ligne \xc3\x28 cassée\n' >>"$D/m.fr"   # invalid UTF-8
for i in $(seq 1 30); do echo "this is sentence number $i about cats"; done >"$D/en.txt"
long=$(printf 'x%.0s' $(seq 1 300))
printf 'this is sentence number 1 about cats\nthis is sentence number 2 about cats\n' >>"$D/en.txt"
printf 'caf\xe9 latin1\n\n   \na\n%s\n' "$long" >>"$D/en.txt"   # invalid, 2 empty, short, long
printf 'windows line ending\r\n  padded\t line \t\n' >>"$D/en.txt"  # kept, normalised

po_header() {  # LANG PLURAL-FORMS
  printf 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
  printf '"Language: %s\\n"\n"Plural-Forms: %s\\n"\n\n' "$1" "$2"
}
po_entry() { printf 'msgid "%s"\nmsgstr "%s"\n\n' "$1" "$2"; }
mo() {  # DIR: .po on stdin -> DIR/x.mo
  mkdir -p "$1" && msgfmt -o "$1/x.mo" - || fail "msgfmt $1"
}
M=$D/mo
{ po_header de 'nplurals=2; plural=(n != 1);'
  po_entry "Open the file" "Öffne die Datei"
  printf 'msgctxt "menu"\n'; po_entry "Open the file" "Datei öffnen"
  printf 'msgid "%%d file was deleted"\nmsgid_plural "%%d files were deleted"\n'
  printf 'msgstr[0] "%%d Datei wurde gelöscht"\nmsgstr[1] "%%d Dateien wurden gelöscht"\n\n'
  po_entry "_Save the document" "Dokument _speichern"; } | mo "$M/de/LC_MESSAGES"
{ po_header de_AT 'nplurals=2; plural=(n != 1);'
  po_entry "Good morning everyone" "Grüß Gott miteinander"; } | mo "$M/de_AT/LC_MESSAGES"
{ po_header de_CH 'nplurals=2; plural=(n != 1);'   # codeset in the directory name
  po_entry "Close the door" "Schliess die Tür"; } | mo "$M/de_CH.UTF-8/LC_MESSAGES"
{ po_header de_DE 'nplurals=2; plural=(n != 1);'   # no <lang>/LC_MESSAGES: header language
  po_entry "Print the page" "Seite drucken"; } | mo "$M/flat"
{ po_header zh_CN 'nplurals=1; plural=0;'
  po_entry "Open the file" "打开文件"
  printf 'msgctxt "menu"\n'; po_entry "Open the file" "打开"
  printf 'msgid "%%d file was deleted"\nmsgid_plural "%%d files were deleted"\nmsgstr[0] "已删除 %%d 个文件"\n\n'
  po_entry "Close the window" "Close the window now"   # wrong script
  po_entry "Save the document" "保存文档"; } | mo "$M/zh_CN/LC_MESSAGES"
{ po_header zh_TW 'nplurals=1; plural=0;'; po_entry "Open the file" "開啟檔案"; } | mo "$M/zh_TW/LC_MESSAGES"
{ po_header sr 'nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);'
  po_entry "Open the file" "Отвори датотеку"; } | mo "$M/sr/LC_MESSAGES"
{ po_header sr@latin 'nplurals=1; plural=0;'; po_entry "Open the file" "Otvori datoteku"; } | mo "$M/sr@latin/LC_MESSAGES"
{ po_header sr@latin 'nplurals=1; plural=0;'; po_entry "Open the file" "Otvori fajl"; } | mo "$M/sr_RS.UTF-8@latin/LC_MESSAGES"
printf 'this is not a catalog' >"$M/de/LC_MESSAGES/broken.mo"

cat >"$WORK/p.yaml" <<YAML
prep:
  output: $WORK/c.h5
  pivot: en
  languages: [de, zh_CN]
  mo: [$M]
  tsv: ["en-de:$D/a.tsv", "de-en:$D/b.tsv"]
  moses: ["en-fr:$D/m.en,$D/m.fr"]
  text: ["en:$D/en.txt"]
  vocab_size: 400
  lang_tags: true
  dev_fraction: 0.2
  test_fraction: 0.2
  min_chars: 2
  max_chars: 200
YAML

# The h5py side: CHECKS MODE CORPUS [DUMP]; prints FAIL lines, exits non-zero on any.
check_py() {
  "$PY" - "$@" <<'PY'
import struct, sys
import h5py
mode, path = sys.argv[1], sys.argv[2]
fails = []
def check(ok, msg):
    if not ok: fails.append(msg)
def fnv(b, h=0xcbf29ce484222325):
    for c in b: h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
def split_rule(s, dev, test):
    u = (fnv(s.encode()) >> 11) / 2.0**53
    return "dev" if u < dev else "test" if u < dev + test else "train"
f = h5py.File(path, "r")
check(f.attrs["format"] == "landermt.corpus" and f.attrs["format_version"] == 1, "root attributes")
g = f["tokenizer"]
specials = list(g["specials"].asstr()[()])
merges = g["merges"][()].astype("<i4")
h = fnv(struct.pack("<i", len(specials)))
for s in specials: h = fnv(s.encode() + b"\0", h)
h = fnv(merges.tobytes(), fnv(struct.pack("<i", len(merges)), h))
check("%016x" % h == g.attrs["hash"], "tokenizer hash does not match its contents")
tb = [b""] * len(specials) + [bytes([b]) for b in range(256)]
for l, r in merges: tb.append(tb[l] + tb[r])
def sents(grp, prefix):
    tok, off = grp[prefix + "tokens"][()], grp[prefix + "offsets"][()]
    check(tok.dtype == "int32" and off.dtype == "int64" and off[0] == 0 and off[-1] == len(tok),
          f"{grp.name}/{prefix}: dtypes/offsets")
    out = [b"".join(tb[t] for t in tok[off[i]:off[i + 1]]).decode() for i in range(len(off) - 1)]
    if prefix + "text" in grp:
        text = list(grp[prefix + "text"].asstr()[()])
        check(text == out, f"{grp.name}/{prefix}text differs from the decoded tokens")
    check((prefix + "text" in grp) == (grp.name.split("/")[-1] != "train"),
          f"{grp.name}: text must be stored for dev/test only")
    return out
SPLITS = ("train", "dev", "test")
bitext = {d: {s: list(zip(sents(f["bitext"][d][s], "src_"), sents(f["bitext"][d][s], "tgt_")))
              for s in SPLITS} for d in f["bitext"]} if "bitext" in f else {}
mono = {l: {s: sents(f["mono"][l][s], "") for s in SPLITS} for l in f["mono"]} if "mono" in f else {}
dump = [f"tokenizer {g.attrs['hash']}"]
dump += [f"{d} {s}\t{a}\t{b}" for d in bitext for s in SPLITS for a, b in bitext[d][s]]
dump += [f"mono {l} {s}\t{x}" for l in mono for s in SPLITS for x in mono[l][s]]
if len(sys.argv) > 3: open(sys.argv[3], "w").write("\n".join(dump) + "\n")

def pairs(d): return {p for s in SPLITS for p in bitext.get(d, {}).get(s, [])}
if mode == "main":
    check(sorted(bitext) == ["de-en", "en-de", "en-fr", "en-zh_CN"], f"directions {sorted(bitext)}")
    check(sorted(mono) == ["de", "en", "fr", "zh_CN"], f"mono languages {sorted(mono)}")
    check(specials == ["<pad>", "<bos>", "<eos>", "<2de>", "<2en>", "<2fr>", "<2zh_CN>"], f"specials {specials}")
    where = {}  # English sentence -> splits, over all directions and mono en
    for d in bitext:
        a, b = d.split("-")
        for s in SPLITS:
            for p in bitext[d][s]:
                eng = p[0] if a == "en" else p[1]
                check(split_rule(eng, 0.2, 0.2) == s, f"{d}: {p} in {s}, rule says {split_rule(eng, 0.2, 0.2)}")
                where.setdefault(eng, set()).add(s)
                if s != "train":  # neither side of a dev/test pair is training text
                    check(p[1] not in mono[b]["train"] and p[0] not in mono[a]["train"], f"{d} {s} {p} in mono train")
    check(all(len(v) == 1 for v in where.values()), "an English sentence is in two splits")
    check(len(where) > 40, f"only {len(where)} English sentences")
    for l in mono:
        seen = [x for s in SPLITS for x in mono[l][s]]
        check(len(seen) == len(set(seen)), f"mono {l}: a sentence stored twice")
    for i in range(1, 31):
        x = f"this is sentence number {i} about cats"
        check(x in mono["en"][split_rule(x, 0.2, 0.2)], f"mono en: {x!r} not in its hash split")
    de, zh = pairs("en-de"), pairs("en-zh_CN")
    for p in [("Open the file", "Öffne die Datei"), ("Open the file", "Datei öffnen"),
              ("%d file was deleted", "%d Datei wurde gelöscht"),
              ("%d files were deleted", "%d Dateien wurden gelöscht"),
              ("Save the document", "Dokument speichern"),  # mnemonics stripped
              ("Good morning everyone", "Grüß Gott miteinander"),  # de_AT
              ("Close the door", "Schliess die Tür"),  # de_CH.UTF-8
              ("Print the page", "Seite drucken")]:  # Language header
        check(p in de, f"en-de lacks {p}")
    check(("Open the file", "打开文件") in zh and ("%d file was deleted", "已删除 %d 个文件") in zh,
          "en-zh_CN lacks catalog pairs")
    check(not any("%d files" in a for a, _ in zh), "nplurals=1: no msgid_plural pair expected")
    check(not any("開啟" in b for _, b in zh), "zh_TW catalog taken for zh_CN")
    check(len(de) == 48 and len(zh) == 4 and len(pairs("de-en")) == 40 and len(pairs("en-fr")) == 40,
          f"pair counts {len(de)} {len(zh)} {len(pairs('de-en'))} {len(pairs('en-fr'))}")
elif mode == "text":
    check(list(f.get("bitext", {})) == [] and sorted(mono) == ["en"], "text-only corpus layout")
    got = [x for s in SPLITS for x in mono["en"][s]]
    want = [f"this is sentence number {i} about cats" for i in range(1, 31)]
    check(sorted(got) == sorted(want + ["windows line ending", "padded line"]),
          f"mono en holds {len(got)} sentences")
    for s in SPLITS:
        for x in mono["en"][s]:
            check(split_rule(x, 0.4, 0) == s, f"{x!r} in {s}")
elif mode == "sr":
    check(pairs("en-sr") == {("Open the file", "Отвори датотеку")}, f"en-sr: {pairs('en-sr')}")
for m in fails: print("FAIL h5py:", m)
sys.exit(1 if fails else 0)
PY
}

# stat_line PATTERN LOG: the first line of prep's statistics matching PATTERN
stat_line() { grep -m1 -E "$1" "$2"; }
expect_stat() {  # LOG PREFIX key=value...
  local log=$1 prefix=$2 line; shift 2
  line=$(stat_line "^$prefix" "$log")
  for kv in "$@"; do
    [[ " $line " == *" $kv "* || " $line" == *" $kv" ]] && pass || fail "'$prefix' line lacks $kv: $line"
  done
}

# ---------------------------------------------------------------- main run
if "$LANDERMT" prep -c "$WORK/p.yaml" >"$WORK/log" 2>"$WORK/err"; then pass; else
  fail "prep exited $?"; cat "$WORK/err"; finish; exit 1; fi
check_py main "$WORK/c.h5" "$WORK/dump1" && pass || fail "h5py checks of the main corpus"
expect_stat "$WORK/log" "drops en-de:" "53 read," "48 kept;" malformed=2 invalid_utf8=1 identical=1 \
  format_only=1 untranslated=1 duplicate=2
expect_stat "$WORK/log" "drops en-zh_CN:" "5 read," "4 kept;" wrong_script=1 duplicate=0
expect_stat "$WORK/log" "drops en-fr:" "40 kept;" invalid_utf8=1
expect_stat "$WORK/log" "drops mono en:" invalid_utf8=1 empty=2 too_short=1 too_long=1
expect_stat "$WORK/log" "gettext:" "5 catalogs read (de 4, zh_CN 1)," "1 unreadable," "4 of other languages,"
grep -q "warning: skipping the unreadable catalog above (.*broken.mo)" "$WORK/err" && pass \
  || fail "no warning naming broken.mo: $(cat "$WORK/err")"
grep -q "warning: .*a.tsv:46: expected exactly one tab" "$WORK/err" && pass || fail "malformed line not named"
for d in en-de de-en en-fr en-zh_CN; do  # en-zh_CN has 4 pairs: a split may be empty
  for s in train dev test; do
    grep -Eq "^bitext $d $s: [0-9]+ pairs, [0-9]+ src tokens, [0-9]+ tgt tokens" "$WORK/log" \
      && pass || fail "no counts line for bitext $d $s"
  done
done
[[ $(grep -Ec "^bitext (en-de|de-en|en-fr) (train|dev|test): [1-9]" "$WORK/log") -eq 9 ]] && pass \
  || fail "an empty split in a 40-pair direction: $(grep ^bitext "$WORK/log")"
grep -Eq "^tokenizer: BPE trained on [0-9]+ train texts.*vocab 400 \(7 specials incl. 4 language tags" \
  "$WORK/log" && pass || fail "tokenizer line: $(grep tokenizer "$WORK/log")"
grep -Eq "^time: read .* clean .* tokenizer .* encode .* write .* total" "$WORK/log" && pass || fail "no time line"
hash1=$(awk '/^tokenizer:/{print $NF}' "$WORK/log")

# Shuffled inputs (Moses files with the same permutation) give the same file
# contents, in the same order, and the same tokenizer.
mkdir -p "$WORK/shuf"
for f in a.tsv b.tsv en.txt; do shuf --random-source=<(yes) "$D/$f" >"$WORK/shuf/$f"; done
paste "$D/m.en" "$D/m.fr" | shuf --random-source=<(yes) >"$WORK/shuf/m"
cut -f1 "$WORK/shuf/m" >"$WORK/shuf/m.en"; cut -f2 "$WORK/shuf/m" >"$WORK/shuf/m.fr"
sed "s|$D/\([abe][^,:\"]*\)|$WORK/shuf/\1|g; s|$D/m\.|$WORK/shuf/m.|g; s|$WORK/c.h5|$WORK/c2.h5|" \
  "$WORK/p.yaml" >"$WORK/p2.yaml"
grep -q "shuf/a.tsv" "$WORK/p2.yaml" && ! cmp -s "$D/a.tsv" "$WORK/shuf/a.tsv" && pass || fail "shuffle setup"
"$LANDERMT" prep -c "$WORK/p2.yaml" >"$WORK/log2" 2>&1 || fail "shuffled prep exited $?"
check_py main "$WORK/c2.h5" "$WORK/dump2" >/dev/null && cmp -s "$WORK/dump1" "$WORK/dump2" && pass \
  || fail "shuffled input changed the corpus: $(diff "$WORK/dump1" "$WORK/dump2" | head -5)"

# A reused tokenizer (from the corpus) keeps its hash and gives the same tokens.
"$LANDERMT" prep -c "$WORK/p.yaml" --set prep.tokenizer="$WORK/c.h5" --set prep.output="$WORK/c3.h5" \
  >"$WORK/log3" 2>&1 || fail "prep with prep.tokenizer exited $?"
grep -q "^tokenizer: reused /tokenizer of $WORK/c.h5: .*hash $hash1" "$WORK/log3" && pass \
  || fail "reused tokenizer: $(grep tokenizer "$WORK/log3")"
check_py main "$WORK/c3.h5" "$WORK/dump3" >/dev/null && cmp -s "$WORK/dump1" "$WORK/dump3" && pass \
  || fail "reused tokenizer changed the corpus"

# Under mpirun rank 0 builds the same file; every rank exits 0.
mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 "$LANDERMT" prep -c "$WORK/p.yaml" \
  --set prep.output="$WORK/c4.h5" >"$WORK/log4" 2>&1 && pass || fail "mpirun -np 2 prep exited $?"
[[ $(grep -c "^wrote " "$WORK/log4") -eq 1 ]] && pass || fail "expected one 'wrote' line under mpirun"
check_py main "$WORK/c4.h5" "$WORK/dump4" >/dev/null && cmp -s "$WORK/dump1" "$WORK/dump4" && pass \
  || fail "mpirun corpus differs"

# Regional variants but never scripts: sr takes sr/, not sr@latin/ or sr_RS.UTF-8@latin/.
"$LANDERMT" prep --set prep.mo="$M" --set prep.languages=sr --set prep.output="$WORK/sr.h5" \
  --set prep.mono_from_bitext=false >"$WORK/logsr" 2>&1 || fail "sr prep exited $?"
check_py sr "$WORK/sr.h5" && pass || fail "sr: sr@latin must not be read for sr"

# Text only (the former mkcorpus job): hash split, dedup, invalid UTF-8 counted.
"$LANDERMT" prep --set prep.text="en:$D/en.txt" --set prep.output="$WORK/t.h5" --set prep.vocab_size=300 \
  --set prep.dev_fraction=0.4 --set prep.test_fraction=0 --set prep.max_chars=200 >"$WORK/logt" 2>&1 \
  || fail "text-only prep exited $?"
check_py text "$WORK/t.h5" && pass || fail "h5py checks of the text-only corpus"
expect_stat "$WORK/logt" "drops mono en:" "32 kept;" invalid_utf8=1 empty=2 too_short=1 too_long=1 duplicate=2

# ---------------------------------------------------------------- bad input
P=(-c "$WORK/p.yaml")
expect_exit 1 "prep.tsv\[0\]: cannot read .*/nope.tsv" "$LANDERMT" prep "${P[@]}" --set "prep.tsv=[\"en-de:$D/nope.tsv\"]"
expect_exit 1 "prep.mo\[0\]: cannot read .*/nomo" "$LANDERMT" prep "${P[@]}" --set "prep.mo=$D/nomo"
expect_exit 2 "prep.tsv\[1\]: expected SRC-TGT:PATH" "$LANDERMT" prep "${P[@]}" --set "prep.tsv=[\"en-de:$D/a.tsv\", \"ende:$D/b.tsv\"]"
expect_exit 2 "prep.text\[0\]: expected LANG:PATH" "$LANDERMT" prep "${P[@]}" --set "prep.text=[\"e n:$D/en.txt\"]"
expect_exit 2 "prep.moses\[0\]: expected SRC-TGT:PATH_SRC,PATH_TGT" "$LANDERMT" prep "${P[@]}" --set "prep.moses=[\"en-fr:$D/m.en\"]"
expect_exit 2 "prep.languages\[0\] is the pivot" "$LANDERMT" prep "${P[@]}" --set prep.languages=en
head -3 "$D/m.fr" >"$D/short.fr"
expect_exit 1 "m.en has 41 lines but .*short.fr has 3" "$LANDERMT" prep "${P[@]}" --set "prep.moses=[\"en-fr:$D/m.en,$D/short.fr\"]"
expect_exit 1 "broken.mo.*(magic|short)" "$LANDERMT" prep "${P[@]}" --set "prep.mo=$M/de/LC_MESSAGES/broken.mo"
expect_exit 1 "no pairs for en-xx" "$LANDERMT" prep "${P[@]}" --set prep.languages=de,xx
grep -q "warning: no gettext catalogs of language xx" "$WORK/err" && pass || fail "no warning for language xx"
expect_exit 2 "prep has no inputs" "$LANDERMT" prep --set prep.output="$WORK/x.h5"
printf '\n  \n\t\n' >"$D/blank.txt"
expect_exit 1 "no sentences for language en" "$LANDERMT" prep --set prep.text="en:$D/blank.txt" --set prep.output="$WORK/x.h5"
printf 'only\tone\ttoo many\n' >"$D/bad.tsv"
expect_exit 1 "no pairs for en-de" "$LANDERMT" prep --set prep.tsv="en-de:$D/bad.tsv" --set prep.output="$WORK/x.h5"
expect_exit 1 "prep.tokenizer: cannot read .*/none.h5" "$LANDERMT" prep "${P[@]}" --set prep.tokenizer="$D/none.h5"
expect_exit 1 "prep.tokenizer .*a.tsv.*not an HDF5 file" "$LANDERMT" prep "${P[@]}" --set prep.tokenizer="$D/a.tsv"
expect_exit 1 "prep.tokenizer .*t.h5 has no special token <2de>" "$LANDERMT" prep "${P[@]}" --set prep.tokenizer="$WORK/t.h5"
expect_exit 1 "/nonexistent-dir/c.h5" "$LANDERMT" prep "${P[@]}" --set prep.output=/nonexistent-dir/c.h5
# A failed run leaves the previous corpus untouched.
cp "$WORK/c.h5" "$WORK/keep.h5"
expect_exit 1 "no pairs for en-xx" "$LANDERMT" prep "${P[@]}" --set prep.languages=de,xx
cmp -s "$WORK/c.h5" "$WORK/keep.h5" && pass || fail "a failed run changed the existing corpus"
expect_exit 1 "nope.tsv" mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 "$LANDERMT" prep \
  "${P[@]}" --set "prep.tsv=[\"en-de:$D/nope.tsv\"]"
finish
