# Helpers for the command-line tests, sourced by tests/cli/*.sh.
set -uo pipefail
: "${LANDERMT:?}" "${MKCORPUS:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lmcli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
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

# A small English corpus of distinct lines (byte tokenizer).
make_corpus() {
  local out=$1
  for i in $(seq 1 400); do
    echo "sentence number $i says the quick brown fox jumps over the lazy dog $((i * 7 % 13))"
  done >"$WORK/text.txt"
  "$MKCORPUS" "$out" --lang en "$WORK/text.txt" >/dev/null
}
