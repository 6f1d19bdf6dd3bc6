#!/usr/bin/env bash
# Checkpoints and corpora must be readable with plain h5py exactly as
# docs/formats.md describes (Hugging Face names and shapes, attribute types).
# h5py (Debian python3-h5py, for /usr/bin/python3) is a declared dependency:
# its absence is a failure, not a skip.
set -euo pipefail
: "${LM_BINARY_DIR:?}" "${LM_SOURCE_DIR:?}" "${LANDERMT:?}"
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "FAIL: $PY cannot import h5py; install python3-h5py (a declared dependency)" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%s\n' "The cat sat on the mat." "  Das ist schön.  " "" "The cat sat on the mat." \
    "Ceci n'est pas une pipe." "one" "two" "three" "four" "five" "six" > "$work/en.txt"
dev_frac=0.3
"$LANDERMT" prep --set "prep.text=en:$work/en.txt" --set "prep.output=$work/corpus.h5" \
    --set prep.dev_fraction="$dev_frac" --set prep.test_fraction=0 --set prep.vocab_size=300
"$LM_BINARY_DIR/tests/test_ckpt" --write-only "$work/untied.h5" --tokenizer "$work/corpus.h5"
"$LM_BINARY_DIR/tests/test_ckpt" --write-only "$work/tied.h5" --tied
"$PY" "$LM_SOURCE_DIR/tests/cli/ckpt_h5py.py" "$work/untied.h5" "$work/tied.h5" \
    "$work/corpus.h5" "$dev_frac"

# inspect lists every /config attribute the file holds, also ones this build does not
# know (a newer writer's, added here with h5py), with its value.
cp "$work/untied.h5" "$work/extra.h5"
"$PY" -c 'import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f["config"].attrs["sliding_window"] = np.int64(4096)
    f["config"].attrs["rope_scaling_type"] = "linear"' "$work/extra.h5"
"$LANDERMT" inspect "$work/extra.h5" >"$work/inspect.txt"
for want in 'attention_bias +[01]$' 'hidden_size +[0-9]+$' 'sliding_window +4096$' \
    'rope_scaling_type +"linear"$' 'rms_norm_eps +[0-9.e-]+$'; do
    grep -Eq "^  $want" "$work/inspect.txt" || { echo "FAIL: inspect shows no /config line /$want/:"; cat "$work/inspect.txt"; exit 1; }
done
echo "inspect lists every /config attribute"
