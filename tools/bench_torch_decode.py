#!/usr/bin/python3
"""PyTorch CPU baseline for `landermt translate` greedy decoding.

Loads a landermt llama checkpoint (HDF5, /config and /params with Hugging
Face names) into the plain-torch Llama of tests/reference/llama_ref.py and
decodes the first N source sentences of a corpus split the way
`landermt translate` does with `data.prompt: "{src}"`: prompt = <bos> +
source ids, greedy (first largest logit), until eos, --max-new-tokens or the
model's max_position_embeddings. Batches are decoded as Hugging Face's
generate does on CPU: left-padded prompts with an attention mask and
position ids, one prefill, then one token per row per step over a
preallocated KV cache; finished rows keep running until the whole batch is
done (generated tokens are counted only up to eos, eos excluded, as
landermt counts them). One untimed warm-up batch first.

    /usr/bin/python3 tools/bench_torch_decode.py --checkpoint CKPT.h5 \
        --corpus data/gettext/corpus.h5 --direction en-de --max-sentences 256

Prints sentences/s and tokens/s; with --output, the translations as text
(the corpus BPE decoded in Python), one line per sentence, for comparison
with landermt's. Needs Debian's /usr/bin/python3 (torch, h5py); not run by CI.
"""
import argparse
import math
import os
import sys
import time

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from llama_ref import Config, LlamaForCausalLM, repeat_kv, rope_cos_sin, rotate_half  # noqa: E402


def load_model(path):
    with h5py.File(path, "r") as f:
        a = dict(f["config"].attrs)
        if a["architecture"] != "llama" or a.get("rope_scaling.rope_type", "default") != "default":
            sys.exit(f"{path}: only llama checkpoints with default rotary positions are supported")
        cfg = Config(**{k: int(a[k]) for k in Config.INT_ATTRS if k in a},
                     **{k: float(a[k]) for k in Config.FLOAT_ATTRS if k in a})
        if cfg.head_dim != int(a["head_dim"]):
            sys.exit(f"{path}: head_dim {a['head_dim']} is not hidden_size / heads")
        model = LlamaForCausalLM(cfg)
        state = {n: torch.from_numpy(np.asarray(f["params"][n], dtype=np.float32))
                 for n in f["params"]}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"{path}: missing {missing}, unexpected {unexpected}")
    return model.eval()


def read_prompts(corpus, direction, split, n):
    """<bos> + source ids of the first n pairs; the BPE for decoding."""
    s, t = direction.split("-")
    with h5py.File(corpus, "r") as f:
        swap = f"{s}-{t}" not in f["bitext"]
        g = f["bitext"][f"{t}-{s}" if swap else f"{s}-{t}"][split]
        side = "tgt" if swap else "src"
        off, ids = g[f"{side}_offsets"][()], g[f"{side}_tokens"][()]
        tok = f["tokenizer"]
        if tok.attrs["type"] != "bpe":
            sys.exit(f"{corpus}: tokenizer type {tok.attrs['type']}: only landermt's BPE")
        bpe = dict(bos=int(tok.attrs["bos_id"]), eos=int(tok.attrs["eos_id"]),
                   vocab=int(tok.attrs["vocab_size"]), specials=len(tok["specials"]),
                   merges=tok["merges"][()])
    n = min(n, len(off) - 1) if n > 0 else len(off) - 1
    return [[bpe["bos"]] + ids[off[i]:off[i + 1]].tolist() for i in range(n)], bpe


def bpe_text(ids, bpe):
    """Bytes of every id (specials skipped), as UTF-8 text on one line."""
    memo = {}

    def piece(i):
        if i < bpe["specials"]:
            return b""
        if i < bpe["specials"] + 256:
            return bytes([i - bpe["specials"]])
        if i not in memo:
            left, right = bpe["merges"][i - bpe["specials"] - 256]
            memo[i] = piece(int(left)) + piece(int(right))
        return memo[i]

    text = b"".join(piece(i) for i in ids).decode("utf-8", errors="replace")
    return text.replace("\r", " ").replace("\n", " ")


def layer_step(layer, h, pos, start, keep, cache, cos, sin):
    """One decoder layer over n new positions per row, appended at
    cache slots start..start+n-1; keep (B, start+n) marks real slots."""
    a = layer.self_attn
    B, n, _ = h.shape
    H, KV, D = a.H, a.KV, a.D
    x = layer.input_layernorm(h)
    q = a.q_proj(x).view(B, n, H, D).transpose(1, 2)
    k = a.k_proj(x).view(B, n, KV, D).transpose(1, 2)
    v = a.v_proj(x).view(B, n, KV, D).transpose(1, 2)
    c, s = cos[pos].unsqueeze(1), sin[pos].unsqueeze(1)  # (B, 1, n, D)
    q = q * c + rotate_half(q) * s
    k = k * c + rotate_half(k) * s
    ck, cv = cache
    ck[:, :, start:start + n] = k
    cv[:, :, start:start + n] = v
    K = repeat_kv(ck[:, :, :start + n], H // KV)
    V = repeat_kv(cv[:, :, :start + n], H // KV)
    sc = torch.matmul(q, K.transpose(-1, -2)) / math.sqrt(D)  # (B, H, n, start+n)
    causal = torch.ones(n, start + n, dtype=torch.bool).tril(start)
    allowed = causal.unsqueeze(0) & keep[:, None, :]
    # the most negative float, not -inf (as Hugging Face does): a padding
    # query sees no key, and its row must stay finite, since its values
    # are multiplied by 0 in the real rows' context
    sc = sc.masked_fill(~allowed.unsqueeze(1), torch.finfo(sc.dtype).min)
    o = torch.matmul(torch.softmax(sc, dim=-1), V).transpose(1, 2).reshape(B, n, H * D)
    h = h + a.o_proj(o)
    return h + layer.mlp(layer.post_attention_layernorm(h))


def last_logits(model, tokens, pos, start, keep, caches, cos, sin):
    h = model.model.embed_tokens(tokens)
    for layer, cache in zip(model.model.layers, caches):
        h = layer_step(layer, h, pos, start, keep, cache, cos, sin)
    h = model.model.norm(h[:, -1])
    w = model.model.embed_tokens.weight if model.cfg.tie_word_embeddings else model.lm_head.weight
    return torch.nn.functional.linear(h, w)  # (B, V)


@torch.inference_mode()
def greedy_batch(model, prompts, max_new, eos, n_vocab):
    cfg = model.cfg
    B, P = len(prompts), max(len(p) for p in prompts)
    budget = [max(0, min(max_new, cfg.max_position_embeddings - len(p))) for p in prompts]
    S = P + max(budget)
    tokens = torch.zeros(B, P, dtype=torch.long)
    keep = torch.zeros(B, S, dtype=torch.bool)
    for r, p in enumerate(prompts):
        tokens[r, P - len(p):] = torch.tensor(p)
        keep[r, P - len(p):P] = True
    pos = (keep[:, :P].long().cumsum(1) - 1).clamp(min=0)
    caches = [(torch.zeros(B, cfg.num_key_value_heads, S, cfg.head_dim),
               torch.zeros(B, cfg.num_key_value_heads, S, cfg.head_dim))
              for _ in range(cfg.num_hidden_layers)]
    cos, sin = rope_cos_sin(cfg.max_position_embeddings, cfg.head_dim, cfg.rope_theta,
                            torch.float32)
    logits = last_logits(model, tokens, pos, 0, keep[:, :P], caches, cos, sin)
    out, live = [[] for _ in range(B)], [b > 0 for b in budget]
    last = pos[:, -1]
    for t in range(max(budget)):
        nxt = logits[:, :n_vocab].argmax(-1)
        for r in range(B):
            if live[r]:
                if int(nxt[r]) == eos:
                    live[r] = False
                else:
                    out[r].append(int(nxt[r]))
                    live[r] = len(out[r]) < budget[r]
        if not any(live):
            break
        keep[:, P + t] = True
        last = last + 1
        logits = last_logits(model, nxt[:, None], last[:, None], P + t, keep[:, :P + t + 1],
                             caches, cos, sin)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--direction", default="en-de")
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-sentences", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--output", help="translations, one line per sentence")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    prompts, bpe = read_prompts(args.corpus, args.direction, args.split, args.max_sentences)
    n_vocab = min(bpe["vocab"], model.cfg.vocab_size)
    batches = [prompts[i:i + args.batch] for i in range(0, len(prompts), args.batch)]
    greedy_batch(model, batches[0], args.max_new_tokens, bpe["eos"], n_vocab)  # warm-up
    t0 = time.perf_counter()
    outs = [o for b in batches for o in greedy_batch(model, b, args.max_new_tokens, bpe["eos"],
                                                      n_vocab)]
    dt = time.perf_counter() - t0
    tokens = sum(len(o) for o in outs)
    print(f"torch {args.direction}: {len(outs)} sentences, {tokens} tokens in {dt:.2f} s "
          f"({len(outs) / dt:.1f} sentences/s, {tokens / dt:.1f} tokens/s), greedy, batch "
          f"{args.batch}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            for o in outs:
                f.write(bpe_text(o, bpe) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
