"""Reads landermt files with h5py and checks them against docs/formats.md.

usage: ckpt_h5py.py UNTIED.h5 TIED.h5 CORPUS.h5 DEV_FRAC
UNTIED/TIED are written by `test_ckpt --write-only` (vocab 259, hidden 32,
intermediate 48, 2 layers, 4 heads, 2 kv heads; the untied one has
attention biases and the corpus tokenizer, the tied one neither).
"""
import sys

import h5py
import numpy as np

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


BASE_CONFIG = dict(architecture="llama", model_type="llama", vocab_size=259, hidden_size=32,
                   intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                   rope_theta=10000.0)


def hf_tensors(c):
    """Names and shapes of a Hugging Face LlamaForCausalLM state dict."""
    C, F, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    D = C // c["num_attention_heads"]
    Q, K = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
    t = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": (C,),
                  p + "self_attn.q_proj.weight": (Q, C), p + "self_attn.k_proj.weight": (K, C),
                  p + "self_attn.v_proj.weight": (K, C), p + "self_attn.o_proj.weight": (C, Q),
                  p + "post_attention_layernorm.weight": (C,),
                  p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C),
                  p + "mlp.down_proj.weight": (C, F)})
        if c["attention_bias"]:
            t.update({p + "self_attn.q_proj.bias": (Q,), p + "self_attn.k_proj.bias": (K,),
                      p + "self_attn.v_proj.bias": (K,)})
    if not c["tie_word_embeddings"]:
        t["lm_head.weight"] = (V, C)
    return t


def check_value(where, got, want):
    if isinstance(want, str):
        check(isinstance(got, str) and got == want, f"{where} = {got!r}, expected {want!r}")
    elif isinstance(want, float):
        check(isinstance(got, np.floating) and got == want, f"{where} = {got!r}, expected {want!r}")
    else:
        check(isinstance(got, np.integer) and got == want, f"{where} = {got!r}, expected {want!r}")


def check_tensor_group(path, g, tensors):
    check(set(g) == set(tensors),
          f"{path}: {g.name} missing {sorted(set(tensors) - set(g))}, "
          f"unexpected {sorted(set(g) - set(tensors))}")
    for name, shape in tensors.items():
        if name not in g:
            continue
        ds = g[name]
        check(ds.shape == shape, f"{path}: {ds.name} shape {ds.shape}, expected {shape}")
        check(ds.dtype == np.float32, f"{path}: {ds.name} dtype {ds.dtype}, expected float32")
        check(ds.fletcher32, f"{path}: {ds.name} has no Fletcher32 checksum")
        check(np.isfinite(ds[()]).all(), f"{path}: {ds.name} holds non-finite values")


def check_train(path, t):
    for k, v in dict(step=123, skipped_steps=3).items():
        check_value(f"{path}: /train attr {k}", t.attrs.get(k), v)
    check(list(t["cursors/stream"].asstr()[()]) == ["de-en", "en"], f"{path}: /train/cursors/stream")
    check(list(t["cursors/epoch"][()]) == [2, 0], f"{path}: /train/cursors/epoch")
    check(list(t["cursors/position"][()]) == [4567, 12], f"{path}: /train/cursors/position")
    check(isinstance(t.attrs.get("config"), str), f"{path}: /train attr config is not a string")
    check(t["rng"].dtype == np.uint64 and t["rng"].shape == (2,), f"{path}: /train/rng")
    for name, dtype in (("step", np.int64), ("loss", np.float64), ("val_loss", np.float64)):
        ds = t["metrics"][name]
        check(ds.dtype == dtype and ds.shape == (5,), f"{path}: {ds.name} {ds.dtype} {ds.shape}")
    check(np.isnan(t["metrics/val_loss"][1]), f"{path}: val_loss NaN (not evaluated) lost")


def check_checkpoint(path, tied, tokenizer_type):
    with h5py.File(path, "r") as f:
        check_value(f"{path}: format", f.attrs.get("format"), "landermt.checkpoint")
        check_value(f"{path}: format_version", f.attrs.get("format_version"), 2)
        check(isinstance(f.attrs.get("config_yaml"), str), f"{path}: no config_yaml string")
        cfg = dict(f["config"].attrs)
        # q/k/v biases without an o_proj bias is Hugging Face's qwen2
        want = dict(BASE_CONFIG, tie_word_embeddings=int(tied), attention_bias=int(not tied),
                    attention_out_bias=0, head_dim=8, model_type="llama" if tied else "qwen2")
        for k, v in want.items():
            check_value(f"{path}: /config attr {k}", cfg.get(k), v)
        tensors = hf_tensors(want)
        check_tensor_group(path, f["params"], tensors)
        check(f["params/model.layers.1.mlp.up_proj.weight"].shape == (48, 32),
              f"{path}: up_proj shape is not [intermediate, hidden]")
        check(("lm_head.weight" in f["params"]) == (not tied),
              f"{path}: lm_head.weight present iff untied")
        check_value(f"{path}: /tokenizer attr type", f["tokenizer"].attrs.get("type"),
                    tokenizer_type)
        check_train(path, f["train"])
        for moment in ("exp_avg", "exp_avg_sq"):
            check_tensor_group(path, f["train/optimizer"][moment], tensors)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def token_bytes(g):
    """Bytes of every id of a BPE /tokenizer group (docs/tokenizer.md)."""
    specials = list(g["specials"].asstr()[()])
    tb = [b""] * len(specials) + [bytes([b]) for b in range(256)]
    for left, right in g["merges"][()]:
        tb.append(tb[left] + tb[right])
    return tb


def check_corpus(path, dev_frac):
    """A text-only corpus of `landermt prep` (test_fraction 0)."""
    with h5py.File(path, "r") as f:
        check_value(f"{path}: format", f.attrs.get("format"), "landermt.corpus")
        check_value(f"{path}: format_version", f.attrs.get("format_version"), 1)
        tok = f["tokenizer"].attrs
        for k, v in dict(type="bpe", pad_id=0, bos_id=1, eos_id=2).items():
            check_value(f"{path}: /tokenizer attr {k}", tok.get(k), v)
        tb = token_bytes(f["tokenizer"])
        check(tok.get("vocab_size") == len(tb), f"{path}: /tokenizer vocab_size")
        seen = []
        for split in ("train", "dev", "test"):
            g = f["mono/en"][split]
            tokens, offsets = g["tokens"][()], g["offsets"][()]
            check(tokens.dtype == np.int32 and offsets.dtype == np.int64, f"{path}: {split} dtypes")
            check(offsets[0] == 0 and offsets[-1] == len(tokens), f"{path}: {split} offsets")
            text = [b"".join(tb[t] for t in tokens[offsets[i]:offsets[i + 1]]).decode()
                    for i in range(len(offsets) - 1)]
            check(("text" in g) == (split != "train"), f"{path}: {split}: text iff dev/test")
            if "text" in g:
                check(list(g["text"].asstr()[()]) == text, f"{path}: {split} text != decoded tokens")
            for s in text:
                is_dev = (fnv1a64(s.encode()) >> 11) / 2.0**53 < dev_frac
                check(is_dev == (split == "dev"), f"{path}: {s!r} is in the wrong split")
            seen += text
        check(len(seen) == len(set(seen)) == 9, f"{path}: expected 9 unique sentences: {seen}")
        check("Das ist schön." in seen, f"{path}: trimmed UTF-8 sentence missing")


def main():
    untied, tied, corpus, dev_frac = sys.argv[1:5]
    check_checkpoint(untied, tied=False, tokenizer_type="bpe")
    check_checkpoint(tied, tied=True, tokenizer_type="none")
    check_corpus(corpus, float(dev_frac))
    for msg in failures:
        print("FAIL", msg)
    print(f"h5py checks: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
