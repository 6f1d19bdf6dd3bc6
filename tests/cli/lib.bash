# Helpers for the command-line tests, sourced by tests/cli/*.sh.
set -uo pipefail
: "${LANDERMT:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lmcli.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
FAILS=0
CHECKS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { CHECKS=$((CHECKS + 1)); }

# expect_exit CODE PATTERN CMD... : runs CMD, checks its exit status and that
# its stderr matches the extended regex PATTERN.
expect_exit() {
  local want=$1 pattern=$2; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  CHECKS=$((CHECKS + 1))
  if [[ $got -ne $want ]]; then
    fail "'$*' exited $got, expected $want"; sed 's/^/  stderr: /' "$WORK/err" | head -5
  elif ! grep -Eq -- "$pattern" "$WORK/err"; then
    fail "'$*' stderr does not match /$pattern/"; sed 's/^/  stderr: /' "$WORK/err" | head -5
  fi
}

finish() {
  echo "$CHECKS checks, $FAILS failed"
  [[ $FAILS -eq 0 ]]
}

# A small English corpus of distinct lines: mono/en train and dev (5%),
# BPE vocabulary of at most 320 tokens.
make_corpus() {
  local out=$1
  for i in $(seq 1 400); do
    echo "sentence number $i says the quick brown fox jumps over the lazy dog $((i * 7 % 13))"
  done >"$WORK/text.txt"
  "$LANDERMT" prep --set "prep.text=en:$WORK/text.txt" --set "prep.output=$out" --set prep.vocab_size=320 \
    --set prep.dev_fraction=0.05 --set prep.test_fraction=0 >/dev/null
}

# A small synthetic en-de / en-fr corpus built with `landermt prep`, and a
# tiny model config that trains on it (written to $WORK/tiny_mt.yaml; the
# same without the model: section, for pretrained models whose own
# configuration decides, in $WORK/mt_data.yaml); $CFG names the former.
make_mt_corpus() {
  local awk_src="$LM_SOURCE_DIR/tests/data/synthetic_bitext.awk"
  awk -v seed=1 -v count=2000 -v lang=de -f "$awk_src" >"$WORK/en-de.tsv"
  awk -v seed=2 -v count=2000 -v lang=fr -f "$awk_src" >"$WORK/en-fr.tsv"
  cat >"$WORK/tiny_model.yaml" <<YAML
model: {vocab_size: 600, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4,
        num_attention_heads: 4, num_key_value_heads: 2}
YAML
  cat >"$WORK/mt_data.yaml" <<YAML
prep: {output: $WORK/mt.h5, tsv: ["en-de:$WORK/en-de.tsv", "en-fr:$WORK/en-fr.tsv"],
       languages: [], vocab_size: 600, dev_fraction: 0.05, test_fraction: 0.05}
data: {corpus: $WORK/mt.h5, directions: [en-de, en-fr]}
train: {batch_size: 8, seq_len: 96, steps: 20, lr: 3.0e-3, warmup_steps: 2, min_lr: 3.0e-4,
        eval_every: 10, eval_batches: 2, save_every: 10, keep_last: 5, out_dir: $WORK/base, log_every: 1}
detect: {output: $WORK/neurons.h5, max_sentences: 60, batch_size: 8}
layers: {k: 2}
YAML
  cat "$WORK/tiny_model.yaml" "$WORK/mt_data.yaml" >"$WORK/tiny_mt.yaml"
  CFG="$WORK/tiny_mt.yaml"
  "$LANDERMT" prep -c "$WORK/tiny_mt.yaml" >"$WORK/prep.log" 2>&1 || fail "prep failed: $(tail -3 "$WORK/prep.log")"
}

# A 20-step base of $WORK/tiny_mt.yaml in $BASE and its neurons file
# ($WORK/neurons.h5), for the selective modes' tests.
make_mt_base() {
  "$LANDERMT" train -c "$CFG" --set train.steps=20 --set train.save_every=0 --set train.eval_every=0 \
    >"$WORK/base.log" 2>&1 || fail "base: $(tail -3 "$WORK/base.log")"
  BASE="$WORK/base/step_00000020.h5"
  "$LANDERMT" detect -c "$CFG" --set model.checkpoint="$BASE" >/dev/null 2>&1 || fail detect
}

# mpirun as the multi-rank tests use it: one thread per rank, shared-memory
# transport, more ranks than cores allowed.
run() { OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader "$@"; }
