#!/usr/bin/python3
"""Independent PyTorch reference for landermt's llama family.

Written from the Hugging Face Llama semantics (modeling_llama.py), not from the
C code.  Module and parameter names mirror HF exactly, so named_parameters()
yields the HF tensor names ("model.layers.0.self_attn.q_proj.weight", ...).

Running this script (Debian's /usr/bin/python3, which has torch and h5py)
writes tests/fixtures/llama_tiny.h5.  Parameters are created in float32 and
stored as float32; all expected values are computed in float64 from exactly
those float32 values.  CI never runs this script; only the .h5 is used.

    /usr/bin/python3 tests/reference/llama_ref.py [--out PATH]
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "landermt.fixture"
FORMAT_VERSION = 1
GENERATOR = "tests/reference/llama_ref.py"


# --------------------------------------------------------------------------
# model (HF Llama semantics, plain torch)
# --------------------------------------------------------------------------
class Config:
    def __init__(self, vocab_size, hidden_size, intermediate_size,
                 num_hidden_layers, num_attention_heads, num_key_value_heads,
                 max_position_embeddings=64, rms_norm_eps=1e-5,
                 rope_theta=10000.0, tie_word_embeddings=False,
                 attention_bias=False):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.max_position_embeddings = max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        self.tie_word_embeddings = bool(tie_word_embeddings)
        self.attention_bias = bool(attention_bias)
        assert hidden_size % num_attention_heads == 0
        assert num_attention_heads % num_key_value_heads == 0
        self.head_dim = hidden_size // num_attention_heads
        assert self.head_dim % 2 == 0

    INT_ATTRS = ("vocab_size", "hidden_size", "intermediate_size",
                 "num_hidden_layers", "num_attention_heads",
                 "num_key_value_heads", "max_position_embeddings",
                 "tie_word_embeddings", "attention_bias")
    FLOAT_ATTRS = ("rms_norm_eps", "rope_theta")


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rope_cos_sin(T, D, theta, dtype, device=None):
    # inv_freq[i] = theta^(-2i/D), i in [0, D/2); computed in float64
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    pos = torch.arange(T, dtype=torch.float64)
    ang = torch.outer(pos, inv_freq)              # (T, D/2)
    emb = torch.cat((ang, ang), dim=-1)          # (T, D)
    return emb.cos().to(device=device, dtype=dtype), emb.sin().to(device=device, dtype=dtype)


def repeat_kv(x, n_rep):
    # (B, KV, T, D) -> (B, KV*n_rep, T, D); kv head j serves q heads j*n_rep..
    if n_rep == 1:
        return x
    B, KV, T, D = x.shape
    return x[:, :, None].expand(B, KV, n_rep, T, D).reshape(B, KV * n_rep, T, D)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, H, KV, D = (cfg.hidden_size, cfg.num_attention_heads,
                       cfg.num_key_value_heads, cfg.head_dim)
        self.H, self.KV, self.D = H, KV, D
        self.theta = cfg.rope_theta
        self.q_proj = nn.Linear(C, H * D, bias=cfg.attention_bias)
        self.k_proj = nn.Linear(C, KV * D, bias=cfg.attention_bias)
        self.v_proj = nn.Linear(C, KV * D, bias=cfg.attention_bias)
        self.o_proj = nn.Linear(H * D, C, bias=False)

    def forward(self, x):
        B, T, _ = x.shape
        H, KV, D = self.H, self.KV, self.D
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, KV, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, KV, D).transpose(1, 2)
        cos, sin = rope_cos_sin(T, D, self.theta, x.dtype, x.device)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, H // KV)
        v = repeat_kv(v, H // KV)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        s = s.masked_fill(mask, float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, T, H * D)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, Fd = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(C, Fd, bias=False)
        self.up_proj = nn.Linear(C, Fd, bias=False)
        self.down_proj = nn.Linear(Fd, C, bias=False)
        self.capture = None   # list to append h (input of down_proj) to
        self.h_add = None     # perturbation of h (finite-difference check only)

    def forward(self, x):
        h = F.silu(self.gate_proj(x)) * self.up_proj(x)
        if self.h_add is not None:
            h = h + self.h_add
        if self.capture is not None:
            h.retain_grad()
            self.capture.append(h)
        return self.down_proj(h)


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class LlamaInner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg)
                                    for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, tokens):
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaInner(cfg)
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)

    def forward(self, tokens):
        x = self.model(tokens)
        if self.cfg.tie_word_embeddings:
            return F.linear(x, self.model.embed_tokens.weight)
        return self.lm_head(x)

    def set_capture(self, lst):
        for layer in self.model.layers:
            layer.mlp.capture = lst


def weighted_ce(logits, targets, weight):
    """loss_sum = sum w_t * CE_t ; n_tokens = #(w != 0)."""
    V = logits.shape[-1]
    logp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    nll = -logp.gather(1, targets.reshape(-1, 1).long()).squeeze(1)
    w = weight.reshape(-1).to(logits.dtype)
    loss_sum = (w * nll).sum()
    n_tokens = float((w != 0).sum().item())
    return loss_sum, n_tokens


def init_params(model, seed):
    """float32 init: weights N(0, 0.1), embedding N(0, 0.5), norm weights
    1 + 0.1*randn, biases 0.1*randn."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            elif name == "model.embed_tokens.weight":
                p.copy_(0.5 * r)
            else:
                p.copy_(0.1 * r)


# --------------------------------------------------------------------------
# reference computations (float64)
# --------------------------------------------------------------------------
def loss_and_grads(model, tokens, targets, weight):
    model.zero_grad(set_to_none=True)
    hs = []
    model.set_capture(hs)
    logits = model(tokens)
    loss_sum, n_tok = weighted_ce(logits, targets, weight)
    loss = loss_sum / n_tok
    loss.backward()
    model.set_capture(None)
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return dict(logits=logits.detach(), loss_sum=loss_sum.item(),
                n_tokens=n_tok, loss=loss.item(), grads=grads,
                ffn_h=[h.detach() for h in hs],
                ffn_dh=[h.grad.detach() for h in hs])


def sentence_awareness(model, tokens, targets, weight):
    """LANDeRMT statistics per sentence (row), each row run alone:
    awareness[b, l, i] = mean over the row's positions of |h_i * dL_b/dh_i|,
    L_b = the row's plain mean cross-entropy over its loss positions
    (weight != 0; the weight values are ignored), and block_mean[b, l] =
    mean over positions and hidden units of block l's output."""
    B, L = tokens.shape[0], model.cfg.num_hidden_layers
    aw, bm = [], []
    for b in range(B):
        outs = []
        hooks = [layer.register_forward_hook(lambda m, i, o: outs.append(o.detach()))
                 for layer in model.model.layers]
        model.zero_grad(set_to_none=True)
        hs = []
        model.set_capture(hs)
        logits = model(tokens[b:b + 1])
        mask = (weight[b:b + 1] != 0).to(logits.dtype)
        loss, n = weighted_ce(logits, targets[b:b + 1], mask)
        (loss / n).backward()
        model.set_capture(None)
        for hk in hooks:
            hk.remove()
        aw.append(torch.stack([(h * h.grad).abs()[0].mean(dim=0) for h in hs]))
        bm.append(torch.stack([o[0].mean() for o in outs]))
    return torch.stack(aw).detach(), torch.stack(bm).detach()


FD_ATOL, FD_RTOL = 1e-8, 1e-5   # pass iff |num-ana| <= FD_ATOL + FD_RTOL*|ana|


def fd_check(model, tokens, targets, weight, grads, n_per_tensor=3, seed=1,
             h=1e-5):
    """central finite differences on a few entries of every tensor."""
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    worst_abs = 0.0
    count = 0
    ok = True

    def f():
        with torch.no_grad():
            ls, n = weighted_ce(model(tokens), targets, weight)
            return (ls / n).item()

    for name, p in model.named_parameters():
        flat = p.data.view(-1)
        idx = torch.randint(0, flat.numel(), (n_per_tensor,), generator=g)
        for i in idx.tolist():
            old = flat[i].item()
            flat[i] = old + h
            fp = f()
            flat[i] = old - h
            fm = f()
            flat[i] = old
            num = (fp - fm) / (2 * h)
            ana = grads[name].view(-1)[i].item()
            err = abs(num - ana)
            rel = err / max(abs(num), abs(ana), 1e-4)
            worst = max(worst, rel)
            worst_abs = max(worst_abs, err)
            ok = ok and err <= FD_ATOL + FD_RTOL * abs(ana)
            count += 1
    return worst, worst_abs, count, ok


def fd_check_h(model, tokens, targets, weight, dhs, n_per_layer=6, seed=2,
               h=1e-5):
    """central finite differences of loss w.r.t. a few entries of each ffn h."""
    g = torch.Generator().manual_seed(seed)
    worst = worst_abs = 0.0
    count = 0
    ok = True
    for l, layer in enumerate(model.model.layers):
        dh = dhs[l].reshape(-1)
        idx = torch.randint(0, dh.numel(), (n_per_layer,), generator=g)
        for i in idx.tolist():
            fs = []
            for sign in (1.0, -1.0):
                add = torch.zeros(dhs[l].shape, dtype=dhs[l].dtype)
                add.view(-1)[i] = sign * h
                layer.mlp.h_add = add
                with torch.no_grad():
                    ls, n = weighted_ce(model(tokens), targets, weight)
                fs.append((ls / n).item())
            layer.mlp.h_add = None
            num = (fs[0] - fs[1]) / (2 * h)
            ana = dh[i].item()
            err = abs(num - ana)
            worst = max(worst, err / max(abs(num), abs(ana), 1e-4))
            worst_abs = max(worst_abs, err)
            ok = ok and err <= FD_ATOL + FD_RTOL * abs(ana)
            count += 1
    return worst, worst_abs, count, ok


def lr_at(s, max_lr, min_lr, warmup, steps):
    if s < warmup:
        return max_lr * (s + 1) / warmup
    progress = (s - warmup) / max(1, steps - warmup)
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def adamw_trajectory(model, tokens, targets, weight, hp):
    """own AdamW loop in float64 (model must already be float64)."""
    params = dict(model.named_parameters())
    m = {n: torch.zeros_like(p) for n, p in params.items()}
    v = {n: torch.zeros_like(p) for n, p in params.items()}
    losses, lrs, norms, clipped = [], [], [], []
    b1, b2 = hp["beta1"], hp["beta2"]
    for s in range(hp["steps"]):
        model.zero_grad(set_to_none=True)
        ls, n = weighted_ce(model(tokens), targets, weight)
        loss = ls / n
        loss.backward()
        losses.append(loss.item())
        lr = lr_at(s, hp["lr"], hp["min_lr"], hp["warmup_steps"], hp["steps"])
        lrs.append(lr)
        with torch.no_grad():
            norm = math.sqrt(sum((p.grad.double() ** 2).sum().item()
                                 for p in params.values()))
            norms.append(norm)
            scale = 1.0
            if hp["grad_clip"] > 0 and norm > hp["grad_clip"]:
                scale = hp["grad_clip"] / (norm + 1e-6)
            clipped.append(scale != 1.0)
            for name, p in params.items():
                gr = p.grad * scale
                m[name].mul_(b1).add_((1 - b1) * gr)
                v[name].mul_(b2).add_((1 - b2) * gr * gr)
                mhat = m[name] / (1 - b1 ** (s + 1))
                vhat = v[name] / (1 - b2 ** (s + 1))
                upd = mhat / (vhat.sqrt() + hp["eps"])
                if p.dim() == 2:
                    upd = upd + hp["weight_decay"] * p
                p.sub_(lr * upd)
    final = {n: p.detach().clone() for n, p in params.items()}
    return losses, lrs, norms, clipped, final


def adamw_torch_crosscheck(model, tokens, targets, weight, hp):
    """the same trajectory through torch.optim.AdamW (decay group = 2-D
    tensors); only used to cross-check the hand-written loop."""
    named = list(model.named_parameters())
    opt = torch.optim.AdamW(
        [dict(params=[p for _, p in named if p.dim() == 2],
              weight_decay=hp["weight_decay"]),
         dict(params=[p for _, p in named if p.dim() != 2], weight_decay=0.0)],
        lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    for s in range(hp["steps"]):
        opt.zero_grad(set_to_none=True)
        ls, n = weighted_ce(model(tokens), targets, weight)
        (ls / n).backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in named], hp["grad_clip"])
        lr = lr_at(s, hp["lr"], hp["min_lr"], hp["warmup_steps"], hp["steps"])
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
    return {n: p.detach().clone() for n, p in named}


ADAMW = dict(lr=1e-2, min_lr=1e-3, warmup_steps=3, steps=10,
             schedule="cosine", beta1=0.9, beta2=0.95, eps=1e-8,
             weight_decay=0.1, grad_clip=1.0)

CASES = {
    "case_gqa": dict(
        cfg=dict(vocab_size=67, hidden_size=32, intermediate_size=48,
                 num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64,
                 rms_norm_eps=1e-5, rope_theta=10000.0,
                 tie_word_embeddings=False, attention_bias=True),
        B=2, T=7, seed=1234),
    "case_tied": dict(
        cfg=dict(vocab_size=53, hidden_size=24, intermediate_size=40,
                 num_hidden_layers=3, num_attention_heads=3,
                 num_key_value_heads=3, max_position_embeddings=64,
                 rms_norm_eps=1e-6, rope_theta=100.0,
                 tie_word_embeddings=True, attention_bias=False),
        B=3, T=5, seed=5678),
}


def make_inputs(cfg, B, T, seed):
    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, cfg.vocab_size, (B, T), generator=g,
                           dtype=torch.int64)
    targets = torch.randint(0, cfg.vocab_size, (B, T), generator=g,
                            dtype=torch.int64)
    weight = torch.ones(B, T, dtype=torch.float32)
    weight[:, :2] = 0.0          # prompt positions: no loss
    weight[0, T - 1] = 0.5       # a fractional weight
    weight[B - 1, 3] = 2.0       # and a weight > 1
    return tokens, targets, weight


def build_case(name, spec, verbose=True):
    cfg = Config(**spec["cfg"])
    torch.manual_seed(spec["seed"])
    model32 = LlamaForCausalLM(cfg)
    init_params(model32, spec["seed"])
    params32 = {n: p.detach().clone() for n, p in model32.named_parameters()}
    tokens, targets, weight = make_inputs(cfg, spec["B"], spec["T"], spec["seed"])

    model = LlamaForCausalLM(cfg).double()
    model.load_state_dict({n: p.double() for n, p in params32.items()})
    res = loss_and_grads(model, tokens, targets, weight)
    res["awareness"], res["block_mean"] = sentence_awareness(model, tokens, targets, weight)

    # consistency: float32 forward should agree with float64 to ~1e-5
    model32.eval()
    with torch.no_grad():
        l32 = model32(tokens)
    d32 = ((l32.double() - res["logits"]).abs().max().item())

    worst_rel, worst_abs, cnt, ok1 = fd_check(model, tokens, targets, weight,
                                         res["grads"])
    h_rel, h_abs, h_cnt, ok2 = fd_check_h(model, tokens, targets, weight, res["ffn_dh"])

    model_t = LlamaForCausalLM(cfg).double()
    model_t.load_state_dict({n: p.double() for n, p in params32.items()})
    losses, lrs, norms, clipped, final = adamw_trajectory(
        model_t, tokens, targets, weight, ADAMW)

    model_c = LlamaForCausalLM(cfg).double()
    model_c.load_state_dict({n: p.double() for n, p in params32.items()})
    final_c = adamw_torch_crosscheck(model_c, tokens, targets, weight, ADAMW)
    d_adam = max((final[n] - final_c[n]).abs().max().item() for n in final)

    if verbose:
        print(f"[{name}] loss_sum={res['loss_sum']:.10f} n_tokens={res['n_tokens']:.0f}"
              f" loss={res['loss']:.10f}")
        print(f"[{name}] fp32-vs-fp64 max |dlogits| = {d32:.3e}")
        print(f"[{name}] finite differences: {cnt} entries, max rel err (denominator >= 1e-4) "
              f"{worst_rel:.3e}, max abs err {worst_abs:.3e}")
        print(f"[{name}] finite differences d/dh: {h_cnt} entries, max rel err (denominator >= 1e-4) "
              f"{h_rel:.3e}, max abs err {h_abs:.3e}")
        print(f"[{name}] adamw losses: " + " ".join(f"{x:.5f}" for x in losses))
        print(f"[{name}] adamw grad norms: " + " ".join(f"{x:.4f}" for x in norms))
        print(f"[{name}] clipped on {sum(clipped)}/{len(clipped)} steps")
        print(f"[{name}] own AdamW loop vs torch.optim.AdamW: max |dparam| = {d_adam:.3e}")
    return dict(cfg=cfg, params32=params32, tokens=tokens, targets=targets,
                weight=weight, res=res, losses=losses, lrs=lrs, norms=norms,
                clipped=clipped, final=final, fd_ok=ok1 and ok2,
                d32=d32, d_adam=d_adam)


def write_fixture(path, built):
    import h5py
    import numpy as np
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.h5"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["generator"] = GENERATOR
        f.attrs["torch_version"] = str(torch.__version__)
        for cname, b in built.items():
            cfg = b["cfg"]
            g = f.create_group(cname)
            for a in Config.INT_ATTRS:
                g.attrs[a] = np.int64(int(getattr(cfg, a)))
            for a in Config.FLOAT_ATTRS:
                g.attrs[a] = np.float64(getattr(cfg, a))
            for n, p in b["params32"].items():
                g.create_dataset(f"params/{n}", data=p.numpy().astype(np.float32))
            g.create_dataset("inputs/tokens", data=b["tokens"].numpy().astype(np.int32))
            g.create_dataset("inputs/targets", data=b["targets"].numpy().astype(np.int32))
            g.create_dataset("inputs/weight", data=b["weight"].numpy().astype(np.float32))
            r = b["res"]
            g.create_dataset("expected/logits", data=r["logits"].numpy())
            g.create_dataset("expected/loss_sum", data=np.float64(r["loss_sum"]))
            g.create_dataset("expected/n_tokens", data=np.float64(r["n_tokens"]))
            for n, gr in r["grads"].items():
                g.create_dataset(f"expected/grads/{n}", data=gr.numpy())
            for l, h in enumerate(r["ffn_h"]):
                g.create_dataset(f"expected/ffn_h/{l}", data=h.numpy())
            for l, dh in enumerate(r["ffn_dh"]):
                g.create_dataset(f"expected/ffn_dh/{l}", data=dh.numpy())
            g.create_dataset("expected/awareness", data=r["awareness"].numpy())
            g.create_dataset("expected/block_mean", data=r["block_mean"].numpy())
            ad = g.create_group("adamw")
            for k, val in ADAMW.items():
                if isinstance(val, str):
                    ad.attrs[k] = val
                elif isinstance(val, int):
                    ad.attrs[k] = np.int64(val)
                else:
                    ad.attrs[k] = np.float64(val)
            ad.create_dataset("losses", data=np.array(b["losses"], dtype=np.float64))
            ad.create_dataset("lrs", data=np.array(b["lrs"], dtype=np.float64))
            ad.create_dataset("grad_norms", data=np.array(b["norms"], dtype=np.float64))
            for n, p in b["final"].items():
                ad.create_dataset(f"final_params/{n}", data=p.numpy())
    os.replace(tmp, path)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "fixtures", "llama_tiny.h5"))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    built = {}
    ok = True
    for cname, spec in CASES.items():
        b = build_case(cname, spec)
        built[cname] = b
        if not b["fd_ok"]:
            print(f"[{cname}] FINITE-DIFFERENCE CHECK FAILED", file=sys.stderr)
            ok = False
        if b["d_adam"] > 1e-9:
            print(f"[{cname}] ADAMW CROSS-CHECK FAILED", file=sys.stderr)
            ok = False
        if not any(b["clipped"]):
            print(f"[{cname}] warning: gradient clipping never triggered", file=sys.stderr)
    if not ok:
        return 1
    write_fixture(args.out, built)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
