#!/usr/bin/env bash
# `landermt score HYP REF...`: BLEU and chrF2 lines as sacreBLEU prints them, checked
# against sacreBLEU's README example (two references: BLEU 48.53, chrF2 59.73) and
# the empty-reference cases of tests/unit/test_metrics.c (sacreBLEU >= 2.2: an empty
# reference line is a reference of length 0); stdin, tokenizer choice and bad input.
source "$(dirname "$0")/lib.bash"
cd "$WORK" || exit 1
printf '%s\n' "The dog bit the man." "It wasn't surprising." "The man had just bitten him." >hyp
printf '%s\n' "The dog bit the man." "It was not unexpected." "The man bit him first." >ref1
printf '%s\n' "The dog had bit the man." "No one was surprised." "The man had bitten the dog." >ref2

# expect_line FILE TEXT WHAT: FILE has a line equal to TEXT
expect_line() { grep -qxF -- "$2" "$1" && pass || { fail "$3: no line '$2' in: $(cat "$1")"; }; }

"$LANDERMT" score hyp ref1 ref2 >out 2>err || fail "score: $(cat err)"
expect_line out "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.2+ = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)" "README BLEU"
expect_line out "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.2+ = 59.73" "README chrF2"
"$LANDERMT" score - ref1 ref2 <hyp >out2 2>err && cmp -s out out2 && pass || fail "hypotheses from stdin differ: $(cat err)"

# Empty reference lines: BLEU 50.20 with ref_len 7 (28.80 / 14 if they were skipped);
# chrF2 100.00 (82.29 if skipped).
printf '%s\n' "the cat" "a dog runs in a park ." >hyp_e
printf '%s\n' "" "a dog runs in the park ." >ref_e1
printf '%s\n' "the cat sat on the mat today" "" >ref_e2
"$LANDERMT" score hyp_e ref_e1 ref_e2 >out 2>err || fail "empty refs: $(cat err)"
grep -q "^BLEU|nrefs:2|.* = 50.20 88.9/71.4/40.0/25.0 (BP = 1.000 ratio = 1.286 hyp_len = 9 ref_len = 7)$" out \
  && pass || fail "empty references (BLEU): $(cat out)"
printf '%s\n' "the cat" "the dog sat" >hyp_c
printf '%s\n' "" "the dog sat" >ref_c1
printf '%s\n' "dogs" "" >ref_c2
"$LANDERMT" score hyp_c ref_c1 ref_c2 >out 2>err || fail "empty refs chrF: $(cat err)"
grep -q "^chrF2|nrefs:2|.* = 100.00$" out && pass || fail "empty references (chrF): $(cat out)"

# Tokenizer: auto follows score.lang; an explicit one wins.
printf '%s\n' "我爱北京天安门" >hyp_zh
printf '%s\n' "我爱北京" >ref_zh
"$LANDERMT" score hyp_zh ref_zh --set score.lang=zh_CN >out 2>&1 && grep -q "^BLEU|.*|tok:zh|" out \
  && pass || fail "score.lang zh_CN: $(cat out)"
"$LANDERMT" score hyp_zh ref_zh --set score.tokenize=char >out 2>&1 && grep -q "^BLEU|.*|tok:char|" out \
  && pass || fail "score.tokenize char: $(cat out)"

# Bad input: line counts, missing files, too few files.
head -2 ref1 >short
expect_exit 1 "reference file short has 2 lines, hypothesis file hyp has 3" "$LANDERMT" score hyp ref1 short
expect_exit 1 "reference file nope: cannot open" "$LANDERMT" score hyp nope
expect_exit 2 "takes at least 2 file argument" "$LANDERMT" score hyp
expect_exit 2 "score.tokenize" "$LANDERMT" score hyp ref1 --set score.tokenize=intl
finish
