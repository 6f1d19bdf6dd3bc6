#!/usr/bin/python3
"""PyTorch CPU baseline for landermt's training-step benchmark.

Same model family as the C trainer (the plain-torch Llama of
tests/reference/llama_ref.py, HF semantics), float32, random tokens,
torch.optim.AdamW.  Each step = forward + loss, backward, optimizer step;
the three phases are timed separately with time.perf_counter.

    /usr/bin/python3 tools/bench_torch.py            # demo size
    /usr/bin/python3 tools/bench_torch.py --threads 1 --steps 5

Needs Debian's /usr/bin/python3 (torch); not run by CI.
"""
import argparse
import os
import platform
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from llama_ref import Config, LlamaForCausalLM, weighted_ce  # noqa: E402


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--intermediate", type=int, default=704)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tied", action="store_true", help="tie embeddings (default: untied)")
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = Config(vocab_size=args.vocab, hidden_size=args.hidden,
                 intermediate_size=args.intermediate,
                 num_hidden_layers=args.layers,
                 num_attention_heads=args.heads,
                 num_key_value_heads=args.kv_heads,
                 max_position_embeddings=max(args.seq, 64),
                 rms_norm_eps=1e-5, rope_theta=args.rope_theta,
                 tie_word_embeddings=args.tied, attention_bias=False)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.02)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr,
                            betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=args.weight_decay)

    B, T = args.batch, args.seq
    g = torch.Generator().manual_seed(args.seed + 1)
    tokens = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    targets = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    weight = torch.ones(B, T)

    print(f"bench_torch: torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"cpu '{cpu_model()}'")
    print(f"model: hidden {cfg.hidden_size}, layers {cfg.num_hidden_layers}, "
          f"heads {cfg.num_attention_heads}/{cfg.num_key_value_heads}, "
          f"ffn {cfg.intermediate_size}, vocab {cfg.vocab_size}, "
          f"{'tied' if cfg.tie_word_embeddings else 'untied'}, "
          f"{n_params / 1e6:.2f}M params; batch {B} x seq {T} = {B * T} tokens/step")

    tf = tb = to = 0.0
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        logits = model(tokens)
        loss_sum, n_tok = weighted_ce(logits, targets, weight)
        loss = loss_sum / n_tok
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        timed = s >= args.warmup
        if timed:
            tf += t1 - t0
            tb += t2 - t1
            to += t3 - t2
        dt = t3 - t0
        print(f"{'step' if timed else 'warmup'} {s - args.warmup if timed else s}: "
              f"loss {loss.item():.4f}  {dt * 1e3:.1f} ms  "
              f"(fwd {1e3 * (t1 - t0):.1f}, bwd {1e3 * (t2 - t1):.1f}, "
              f"opt {1e3 * (t3 - t2):.1f})  {B * T / dt:.0f} tok/s")

    if args.steps > 0:
        tot = tf + tb + to
        ms = 1e3 * tot / args.steps
        print(f"summary: {args.steps} steps, {B * T * args.steps / tot:.1f} tokens/s, "
              f"{ms:.1f} ms/step; forward {1e3 * tf / args.steps:.1f} ms "
              f"({100 * tf / tot:.1f}%), backward {1e3 * tb / args.steps:.1f} ms "
              f"({100 * tb / tot:.1f}%), optimizer {1e3 * to / args.steps:.1f} ms "
              f"({100 * to / tot:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
