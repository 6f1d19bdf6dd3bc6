#!/usr/bin/env bash
# Hugging Face directories end to end: `landermt init` writes them (checked
# by an independent numpy/torch reader), they train (full and landermt),
# export back (--set export.format=hf, with the LANDeRMT sidecar), and
# translate and logprob give the same output from the exported directory as
# from the landermt checkpoint, on 1 and 2 ranks. Bad inputs exit 1 or 2.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() { mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 "$@"; }
make_mt_corpus
CFG="$WORK/mt_data.yaml"  # the directories' config.json decide the model
cat >"$WORK/llama.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 600, "hidden_size": 32,
 "intermediate_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
 "max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false,
 "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16", "hidden_act": "silu"}
JSON
for dt in float32 bfloat16 float16; do
  "$LANDERMT" init "$WORK/llama.json" "$WORK/init_$dt" --set train.seed=3 --set export.dtype=$dt \
    $([[ $dt == float16 ]] && echo --set export.max_shard_size=100KB) >"$WORK/init_$dt.log" 2>&1 \
    && pass || fail "init $dt: $(tail -2 "$WORK/init_$dt.log")"
done
grep -q "wrote [0-9]* safetensors files (float16)" "$WORK/init_float16.log" && pass || fail "float16 init is not sharded"
"$LANDERMT" inspect "$WORK/init_bfloat16" >"$WORK/inspect.txt" 2>&1 && grep -q "model_type llama" "$WORK/inspect.txt" \
  && grep -q "tensors BF16" "$WORK/inspect.txt" && grep -q "every weight finite" "$WORK/inspect.txt" && pass \
  || fail "inspect DIR: $(cat "$WORK/inspect.txt")"

# Token-id lines scored by landermt and by the PyTorch reference.
printf '[5, 17, 300, 2]\n[599]\n[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]\n' >"$WORK/ids.txt"
"$LANDERMT" logprob --set model.checkpoint="$WORK/init_float32" --set logprob.input="$WORK/ids.txt" \
  --set logprob.output="$WORK/lp.jsonl" >/dev/null 2>"$WORK/lp.err" && pass || fail "logprob: $(tail -2 "$WORK/lp.err")"
/usr/bin/python3 "$LM_SOURCE_DIR/tests/cli/hf_check.py" "$WORK/init_float32" "$WORK/init_bfloat16" \
  "$WORK/init_float16" "$WORK/ids.txt" "$WORK/lp.jsonl" && pass || fail "independent format / reference check"

TRAIN=(-c "$CFG" --set train.save_every=0 --set train.eval_every=0)
T=(-c "$CFG" --set translate.direction=en-de --set translate.max_new_tokens=16 --set translate.max_sentences=40)

# One family end to end, in $WORK/$1.*: full training from the directory $2,
# exported to a directory ($1.base_hf) and a checkpoint; detect and a
# LANDeRMT finetune on the exported directory (trainable-only checkpoints
# refer to it by path and checksum), exported with the sidecar ($1.lm_hf)
# and as a checkpoint; translate gives the same lines from directory and
# checkpoint, on 1 and 2 ranks.
pipeline() {
  local n=$1 init=$2 W="$WORK/$1"
  "$LANDERMT" train "${TRAIN[@]}" --set model.checkpoint="$init" --set train.steps=160 \
    --set train.out_dir="$W.full" >"$W.full.log" 2>&1 || fail "$n: full training from a directory: $(tail -3 "$W.full.log")"
  local E=(-c "$CFG" --set model.checkpoint="$init" "$W.full/step_00000160.h5")
  "$LANDERMT" export "${E[@]}" --set export.format=hf "$W.base_hf" >/dev/null 2>&1 \
    && "$LANDERMT" export "${E[@]}" "$W.base.h5" >/dev/null 2>&1 && pass || fail "$n: export full"
  diff <(grep -v torch_dtype "$init/config.json") <(grep -v torch_dtype "$W.base_hf/config.json") >/dev/null \
    && grep -q '"torch_dtype": "float32"' "$W.base_hf/config.json" && pass || fail "$n: config.json changed on export"
  "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.base.h5" >"$W.base_h5.txt" 2>/dev/null
  "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.base_hf" >"$W.base_hf.txt" 2>"$W.t.err" \
    && cmp -s "$W.base_h5.txt" "$W.base_hf.txt" && pass || fail "$n: translate: directory vs checkpoint: $(tail -2 "$W.t.err")"
  [[ $(grep -c '[a-z]' "$W.base_hf.txt") -gt 20 ]] && pass || fail "$n: too few translations have a word"
  mpi "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.base_hf" 2>/dev/null | cmp -s "$W.base_hf.txt" - \
    && pass || fail "$n: translate on 2 ranks differs"
  "$LANDERMT" detect -c "$CFG" --set model.checkpoint="$W.base_hf" --set detect.output="$W.neurons.h5" \
    >"$W.detect.log" 2>&1 || fail "$n: detect: $(tail -2 "$W.detect.log")"
  FT=(-c "$CFG" --set model.checkpoint="$W.base_hf" --set train.neurons="$W.neurons.h5" --set train.mode=landermt
      --set train.lr=1.0e-2 --set routing.per_direction=true)
  "$LANDERMT" train "${FT[@]}" "${TRAIN[@]:2}" --set train.steps=4 --set train.out_dir="$W.lm" >"$W.lm.log" 2>&1 \
    || fail "$n: landermt from a directory: $(tail -3 "$W.lm.log")"
  LM="$W.lm/step_00000004.h5"
  "$LANDERMT" export "${FT[@]}" --set export.format=hf "$LM" "$W.lm_hf" >"$W.x.log" 2>&1 \
    && "$LANDERMT" export "${FT[@]}" "$LM" "$W.lm.h5" >>"$W.x.log" 2>&1 && [[ -f "$W.lm_hf/landermt_state.h5" ]] \
    && pass || fail "$n: landermt export: $(tail -3 "$W.x.log")"
  "$LANDERMT" inspect "$W.lm_hf" 2>&1 | grep -q "landermt: landermt_state.h5, 2 direction units.*2 CAR gate" \
    && pass || fail "$n: inspect does not show the sidecar"
  "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.lm.h5" >"$W.lm_h5.txt" 2>/dev/null
  "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.lm_hf" >"$W.lm_hf.txt" 2>"$W.lm.err" \
    && grep -q "CAR routing" "$W.lm.err" && cmp -s "$W.lm_h5.txt" "$W.lm_hf.txt" && pass \
    || fail "$n: routed translate: directory vs checkpoint: $(tail -2 "$W.lm.err")"
  mpi "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$W.lm_hf" 2>/dev/null | cmp -s "$W.lm_hf.txt" - \
    && pass || fail "$n: routed translate on 2 ranks differs"
}
pipeline llama "$WORK/init_float32"
# BLOOM, the paper's family, with 6 heads (not a power of two) in bfloat16.
cat >"$WORK/bloom.json" <<'JSON'
{"architectures": ["BloomForCausalLM"], "model_type": "bloom", "vocab_size": 600, "hidden_size": 36,
 "n_layer": 4, "n_head": 6, "layer_norm_epsilon": 1e-05, "bos_token_id": 1, "eos_token_id": 2,
 "apply_residual_connection_post_layernorm": false, "torch_dtype": "bfloat16"}
JSON
"$LANDERMT" init "$WORK/bloom.json" "$WORK/bloom_init" --set export.dtype=source >/dev/null 2>&1 && pass || fail "init bloom"
pipeline bloom "$WORK/bloom_init"
grep -q '"n_head": 6' "$WORK/bloom.lm_hf/config.json" && pass || fail "bloom config.json"

# Mistral (sliding window) and Qwen2 (q/k/v biases, tied head) directories
# train, export, convert and translate the same way.
sed 's/"llama"/"mistral"/; s/"hidden_act"/"sliding_window": 4096, "hidden_act"/' "$WORK/llama.json" >"$WORK/mistral.json"
sed 's/"llama"/"qwen2"/; s/"tie_word_embeddings": false/"tie_word_embeddings": true/' "$WORK/llama.json" >"$WORK/qwen2.json"
for fam in mistral qwen2; do
  "$LANDERMT" init "$WORK/$fam.json" "$WORK/${fam}_init" --set export.dtype=bfloat16 >/dev/null 2>&1 || fail "init $fam"
  "$LANDERMT" train "${TRAIN[@]}" --set model.checkpoint="$WORK/${fam}_init" --set train.steps=20 \
    --set train.out_dir="$WORK/$fam" >"$WORK/$fam.log" 2>&1 || fail "train $fam: $(tail -2 "$WORK/$fam.log")"
  X=(-c "$CFG" --set model.checkpoint="$WORK/${fam}_init" "$WORK/$fam/step_00000020.h5")
  "$LANDERMT" export --set export.format=hf --set export.dtype=source "${X[@]}" "$WORK/${fam}_hf" >/dev/null 2>&1 \
    && grep -q "\"model_type\": \"$fam\"" "$WORK/${fam}_hf/config.json" && pass || fail "export $fam"
  "$LANDERMT" convert "$WORK/${fam}_hf" "$WORK/${fam}_conv.h5" >/dev/null 2>&1 \
    && "$LANDERMT" inspect "$WORK/${fam}_hf" >/dev/null 2>&1 && pass || fail "$fam: convert or inspect"
  "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$WORK/${fam}_hf" >"$WORK/$fam.txt" 2>/dev/null
  mpi "$LANDERMT" translate "${T[@]}" --set model.checkpoint="$WORK/${fam}_conv.h5" 2>/dev/null \
    | cmp -s "$WORK/$fam.txt" - && [[ $(wc -l <"$WORK/$fam.txt") -eq 40 ]] && pass \
    || fail "$fam: the directory (1 rank) and its conversion (2 ranks) translate differently"
done

# logprob applies the sidecar's routes like translate; the finetuned model
# scores differently from its base.
FT=(-c "$CFG" --set model.checkpoint="$WORK/llama.base_hf" --set train.neurons="$WORK/llama.neurons.h5"
    --set train.mode=landermt --set routing.per_direction=true)
LM="$WORK/llama.lm/step_00000004.h5"
LP=(--set logprob.input="$WORK/ids.txt" --set logprob.direction=en-de --set logprob.per_token=true)
"$LANDERMT" logprob --set model.checkpoint="$WORK/llama.lm_hf" "${LP[@]}" >"$WORK/lp_hf.jsonl" 2>/dev/null
mpi "$LANDERMT" logprob --set model.checkpoint="$WORK/llama.lm.h5" "${LP[@]}" 2>/dev/null | cmp -s "$WORK/lp_hf.jsonl" - \
  && [[ $(wc -l <"$WORK/lp_hf.jsonl") -eq 3 ]] && pass || fail "logprob: directory (1 rank) vs checkpoint (2 ranks)"
"$LANDERMT" logprob --set model.checkpoint="$WORK/llama.base_hf" "${LP[@]}" 2>/dev/null | cmp -s "$WORK/lp_hf.jsonl" - \
  && fail "the finetuned model scores exactly like its base" || pass
printf 'the cat sleeps\n' | "$LANDERMT" logprob -c "$CFG" --set model.checkpoint="$WORK/llama.lm_hf" --set logprob.format=text \
  --set logprob.direction=en-de 2>/dev/null | grep -q '"tokens": [1-9]' && pass || fail "logprob of text"
# The base directory copied elsewhere still matches its checksum; another one does not.
cp -r "$WORK/llama.base_hf" "$WORK/base_copy"
"$LANDERMT" export "${FT[@]}" --set model.checkpoint="$WORK/base_copy" "$LM" "$WORK/lm_copy.h5" >/dev/null 2>&1 \
  && pass || fail "export against a copy of the base directory"
expect_exit 1 "belongs to a different base model" "$LANDERMT" export "${FT[@]}" \
  --set model.checkpoint="$WORK/init_float32" "$LM" "$WORK/lm_other.h5"

# convert: directory -> checkpoint, which remembers config.json.
"$LANDERMT" convert "$WORK/init_bfloat16" "$WORK/conv.h5" >/dev/null 2>&1 \
  && "$LANDERMT" export --set export.format=hf --set export.dtype=source "$WORK/conv.h5" "$WORK/conv_hf" >/dev/null 2>&1 \
  && cmp -s "$WORK/init_bfloat16/model.safetensors" "$WORK/conv_hf/model.safetensors" \
  && cmp -s "$WORK/init_bfloat16/config.json" "$WORK/conv_hf/config.json" && pass || fail "convert round trip"

# Bad inputs: exit 2 for what the user must change, 1 for damaged data.
sed 's/"llama"/"gpt2"/' "$WORK/llama.json" >"$WORK/gpt2.json"
expect_exit 2 'model_type "gpt2" is not supported' "$LANDERMT" init "$WORK/gpt2.json" "$WORK/x1"
sed 's/"vocab_size": 600, //' "$WORK/llama.json" >"$WORK/novocab.json"
expect_exit 1 'novocab.json: required field "vocab_size" is missing' "$LANDERMT" init "$WORK/novocab.json" "$WORK/x2"
expect_exit 2 "already exists and is not empty" "$LANDERMT" init "$WORK/llama.json" "$WORK/init_float32"
expect_exit 2 "export.max_shard_size" "$LANDERMT" init "$WORK/llama.json" "$WORK/x3" --set export.max_shard_size=lots
cp -r "$WORK/init_float16" "$WORK/broken"
rm "$WORK/broken/model-00002-of-"*.safetensors
expect_exit 1 "names shard model-00002-of-.* which is missing" "$LANDERMT" inspect "$WORK/broken"
expect_exit 1 "names shard model-00002-of-" "$LANDERMT" train "${TRAIN[@]}" --set model.checkpoint="$WORK/broken"
printf '[1, 2, 600]\n' >"$WORK/bad_ids.txt"
expect_exit 1 "line 1: element 2 is not a token id in \[0, 600\)" "$LANDERMT" logprob \
  --set model.checkpoint="$WORK/init_float32" --set logprob.input="$WORK/bad_ids.txt"
expect_exit 2 "logprob.direction is not set" "$LANDERMT" logprob --set model.checkpoint="$WORK/llama.lm_hf" \
  --set logprob.input="$WORK/ids.txt"
expect_exit 2 "logprob needs a tokenizer" "$LANDERMT" logprob --set model.checkpoint="$WORK/init_float32" \
  --set logprob.format=text --set logprob.input="$WORK/ids.txt"
finish
