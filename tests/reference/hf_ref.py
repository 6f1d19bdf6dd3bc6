#!/usr/bin/python3
"""Independent PyTorch reference for landermt's Hugging Face model families.

Written from the Hugging Face transformers semantics (modeling_llama.py,
modeling_mistral.py, modeling_qwen2.py, modeling_bloom.py,
modeling_rope_utils.py), PEFT's LoRA and LANDeRMT's CAR routing (DESIGN 4.5),
not from the C code.

For every case it writes a tiny random model as a Hugging Face model
directory, tests/fixtures/hf/<case>/ (config.json + model.safetensors in F32
with HF tensor names), and tests/fixtures/hf_ref.h5 with the inputs and the
float64 expected values of three variants of that model: plain, with CAR
routing, with LoRA adapters.  The models are built from the files as read
back, so the directory and the expected values cannot disagree.  Every
expected value is computed in float64 from the stored float32 parameters.
CI never runs this script; only the committed files are used.

    /usr/bin/python3 tests/reference/hf_ref.py [--fixtures DIR] [--check-only]
"""
import argparse
import copy
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402  the llama fixture's model, cross-checked below
from llama_ref import FD_ATOL, FD_RTOL, weighted_ce  # noqa: E402  same loss, same FD criterion

FORMAT = "landermt.hf_fixture"
FORMAT_VERSION = 1
GENERATOR = "tests/reference/hf_ref.py"
TRANSFORMERS_LAYOUT = "4.46.3"   # the save_pretrained layout the config.json files follow


# --------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON header
# (padded with spaces to a multiple of 8, as the reference implementation
# does), then the raw little-endian data; offsets are relative to the data
# section.  Tensors are laid out in name order, the header lists them in
# that order after "__metadata__".
# --------------------------------------------------------------------------
def safetensors_write(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs, off = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        blob = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


def safetensors_read(path):
    """F32-only reader with the header checks the C loader must also make."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw) and n % 8 == 0, "header length"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out, ranges = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        assert 0 <= b <= e <= len(data), name
        assert e - b == 4 * int(np.prod(info["shape"], dtype=np.int64)), name
        ranges.append((b, e))
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).copy()
    ranges.sort()
    assert all(ranges[i][1] <= ranges[i + 1][0] for i in range(len(ranges) - 1)), "overlap"
    assert sum(e - b for b, e in ranges) == len(data), "unused bytes in the data section"
    return out


# --------------------------------------------------------------------------
# config.json, with the fields transformers' save_pretrained writes for each
# model_type (json.dumps(indent=2, sort_keys=True) + newline)
# --------------------------------------------------------------------------
def _common(arch_name, **fields):
    cfg = dict(architectures=[arch_name], torch_dtype="float32",
               transformers_version=TRANSFORMERS_LAYOUT, use_cache=True,
               initializer_range=0.02)
    cfg.update(fields)
    return cfg


def llama_config(**f):
    base = dict(model_type="llama", attention_bias=False, attention_dropout=0.0,
                hidden_act="silu", mlp_bias=False, pretraining_tp=1,
                rope_scaling=None, tie_word_embeddings=False)
    base.update(f)
    base.setdefault("head_dim", base["hidden_size"] // base["num_attention_heads"])
    return _common("LlamaForCausalLM", **base)


def mistral_config(**f):
    base = dict(model_type="mistral", attention_dropout=0.0, hidden_act="silu",
                tie_word_embeddings=False)
    base.update(f)
    base.setdefault("head_dim", base["hidden_size"] // base["num_attention_heads"])
    return _common("MistralForCausalLM", **base)


def qwen2_config(**f):
    base = dict(model_type="qwen2", attention_dropout=0.0, hidden_act="silu",
                rope_scaling=None, tie_word_embeddings=True, use_sliding_window=False)
    base.update(f)
    return _common("Qwen2ForCausalLM", **base)


def bloom_config(**f):
    base = dict(model_type="bloom", apply_residual_connection_post_layernorm=False,
                attention_dropout=0.0, hidden_dropout=0.0, pretraining_tp=1,
                slow_but_exact=False)
    base.update(f)
    return _common("BloomForCausalLM", **base)


def config_text(cfg):
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------
# the architecture as a loader derives it from config.json
# --------------------------------------------------------------------------
def rope_inv_freq(D, theta, scaling):
    """inv_freq[i] = theta^(-2i/D), i < D/2, then transformers'
    _compute_llama3_parameters when rope_type is llama3.  Returns the
    frequencies (float64) and the regime of each: high (kept), medium
    (smoothed) or low (divided by factor)."""
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    if scaling is None:
        return inv, ["unscaled"] * len(inv)
    assert scaling["rope_type"] == "llama3"
    factor = scaling["factor"]
    lo, hi = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    out = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    out = torch.where(medium, smoothed, out)
    regimes = ["medium" if m else ("low" if w > low_wavelen else "high")
               for m, w in zip(medium.tolist(), wavelen.tolist())]
    return out, regimes


def alibi_slopes(H):
    """BLOOM's build_alibi_tensor slopes, including the extra-base branch
    for head counts that are not powers of two."""
    p = 2 ** math.floor(math.log2(H))
    base = 2.0 ** (-(2.0 ** -(math.log2(p) - 3)))
    slopes = [base ** k for k in range(1, p + 1)]
    if p != H:
        extra = 2.0 ** (-(2.0 ** -(math.log2(2 * p) - 3)))
        slopes += [extra ** k for k in range(1, 2 * min(p, H - p), 2)]
    return torch.tensor(slopes, dtype=torch.float64)


class Arch:
    """What the forward pass needs, derived from config.json."""

    def __init__(self, cfg, prefix=""):
        self.model_type = cfg["model_type"]
        self.prefix = prefix          # "transformer." or "" (bloom only)
        self.V = cfg["vocab_size"]
        self.C = cfg["hidden_size"]
        if self.model_type == "bloom":
            self.family = "bloom"
            self.L, self.H = cfg["n_layer"], cfg["n_head"]
            self.KV, self.D, self.F = self.H, self.C // self.H, 4 * self.C
            self.eps = cfg["layer_norm_epsilon"]
            self.tied, self.window = True, 0
            self.slopes = alibi_slopes(self.H)
            return
        self.family = "llama"
        self.L, self.H = cfg["num_hidden_layers"], cfg["num_attention_heads"]
        self.KV = cfg["num_key_value_heads"]
        self.D = cfg.get("head_dim") or self.C // self.H
        self.F = cfg["intermediate_size"]
        self.eps = cfg["rms_norm_eps"]
        self.tied = cfg["tie_word_embeddings"]
        self.qkv_bias = cfg.get("attention_bias", False) or self.model_type == "qwen2"
        self.o_bias = self.model_type == "llama" and cfg.get("attention_bias", False)
        assert not cfg.get("mlp_bias", False)
        self.window = 0
        if self.model_type == "mistral" and cfg.get("sliding_window"):
            self.window = cfg["sliding_window"]
        assert not (self.model_type == "qwen2" and cfg["use_sliding_window"])
        self.inv_freq, self.regimes = rope_inv_freq(self.D, cfg["rope_theta"],
                                                    cfg.get("rope_scaling"))

    def layer_prefix(self, l):
        if self.family == "bloom":
            return f"{self.prefix}h.{l}."
        return f"model.layers.{l}."

    def embed_name(self):
        if self.family == "bloom":
            return self.prefix + "word_embeddings.weight"
        return "model.embed_tokens.weight"

    def linears(self, l):
        """(module path, out, in, bias) of the linear layers of block l."""
        p, C, F_, H, KV, D = self.layer_prefix(l), self.C, self.F, self.H, self.KV, self.D
        if self.family == "bloom":
            return [(p + "self_attention.query_key_value", 3 * C, C, True),
                    (p + "self_attention.dense", C, C, True),
                    (p + "mlp.dense_h_to_4h", F_, C, True),
                    (p + "mlp.dense_4h_to_h", C, F_, True)]
        a, m = p + "self_attn.", p + "mlp."
        return [(a + "q_proj", H * D, C, self.qkv_bias), (a + "k_proj", KV * D, C, self.qkv_bias),
                (a + "v_proj", KV * D, C, self.qkv_bias), (a + "o_proj", C, H * D, self.o_bias),
                (m + "gate_proj", F_, C, False), (m + "up_proj", F_, C, False),
                (m + "down_proj", C, F_, False)]

    def param_shapes(self):
        """HF tensor name -> shape, as stored in model.safetensors."""
        s = {self.embed_name(): (self.V, self.C)}
        norm_suffixes = ("weight", "bias") if self.family == "bloom" else ("weight",)
        if self.family == "bloom":
            for x in norm_suffixes:
                s[f"{self.prefix}word_embeddings_layernorm.{x}"] = (self.C,)
        for l in range(self.L):
            p = self.layer_prefix(l)
            for ln in ("input_layernorm", "post_attention_layernorm"):
                for x in norm_suffixes:
                    s[f"{p}{ln}.{x}"] = (self.C,)
            for mod, o, i, bias in self.linears(l):
                s[mod + ".weight"] = (o, i)
                if bias:
                    s[mod + ".bias"] = (o,)
        final = self.prefix + "ln_f" if self.family == "bloom" else "model.norm"
        for x in norm_suffixes:
            s[f"{final}.{x}"] = (self.C,)
        if not self.tied:
            s["lm_head.weight"] = (self.V, self.C)
        return s


def init_params(arch, seed):
    """float32 init: linears N(0, 0.1), embedding N(0, 0.5), norm weights
    1 + 0.1 N(0, 1), biases and norm biases 0.1 N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in arch.param_shapes().items():
        r = torch.randn(shape, generator=g, dtype=torch.float32)
        is_norm = "norm" in name or "ln_f" in name
        if name.endswith(".bias"):
            out[name] = 0.1 * r
        elif is_norm:
            out[name] = 1.0 + 0.1 * r
        elif name == arch.embed_name():
            out[name] = 0.5 * r
        else:
            out[name] = 0.1 * r
    return out


# --------------------------------------------------------------------------
# forward pass (plain torch, functional over a dict of leaves)
#   P: HF name -> tensor, plus "routing.<l>.w" / "routing.<l>.b" gates and
#      "<module>.lora_A.weight" / "<module>.lora_B.weight" adapters
#   var: Variant (which extras are active)
#   probe: captures h, block outputs and the gate values; adds h_add to h
# --------------------------------------------------------------------------
class Variant:
    def __init__(self, route=None, lora=None):
        self.route = route    # dict(layers, classes {l: LongTensor (F,)}, scale[, wrong])
        self.lora = lora      # dict(modules [module path], scaling)


class Probe:
    def __init__(self, capture=False, blocks=False):
        self.h = [] if capture else None
        self.blocks = [] if blocks else None
        self.c = {}
        self.h_add = {}


def linear(P, var, x, mod):
    y = x @ P[mod + ".weight"].t()
    if mod + ".bias" in P:
        y = y + P[mod + ".bias"]
    if var.lora is not None and mod in var.lora["modules"]:
        a, b = P[mod + ".lora_A.weight"], P[mod + ".lora_B.weight"]
        y = y + var.lora["scaling"] * ((x @ a.t()) @ b.t())
    return y


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def gelu_tanh(x):
    # BLOOM's bloom_gelu_forward, with its constant 0.79788456 (not sqrt(2/pi))
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def allowed_mask(T, window, device=None):
    """allowed[i, j]: query i may attend key j (causal; sliding window:
    i - j < window)."""
    i = torch.arange(T, device=device)[:, None]
    j = torch.arange(T, device=device)[None, :]
    ok = j <= i
    if window:
        ok = ok & (i - j < window)
    return ok


def softmax_attend(s, v, window):
    T = s.shape[-1]
    s = s.masked_fill(~allowed_mask(T, window, s.device), float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def llama_attention(P, var, arch, pre, x):
    B, T, _ = x.shape
    H, KV, D = arch.H, arch.KV, arch.D
    q = linear(P, var, x, pre + "q_proj").view(B, T, H, D).transpose(1, 2)
    k = linear(P, var, x, pre + "k_proj").view(B, T, KV, D).transpose(1, 2)
    v = linear(P, var, x, pre + "v_proj").view(B, T, KV, D).transpose(1, 2)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), arch.inv_freq)   # (T, D/2)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    rep = H // KV    # query head h uses kv head h // rep (repeat_kv)
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)
    o = softmax_attend(s, v, arch.window).transpose(1, 2).reshape(B, T, H * D)
    return linear(P, var, o, pre + "o_proj")


def bloom_attention(P, var, arch, pre, x):
    B, T, _ = x.shape
    H, D = arch.H, arch.D
    fused = linear(P, var, x, pre + "query_key_value").view(B, T, H, 3, D)
    q, k, v = (fused[:, :, :, i].transpose(1, 2) for i in range(3))   # (B, H, T, D)
    j = torch.arange(T, dtype=torch.float64)
    alibi = (arch.slopes[:, None] * j[None, :]).to(x.dtype)           # (H, T) by key position
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + alibi[None, :, None, :]
    o = softmax_attend(s, v, 0).transpose(1, 2).reshape(B, T, H * D)
    return linear(P, var, o, pre + "dense")


def ffn(P, var, arch, l, x, probe):
    """FFN of block l on the normalised input x; with CAR routing on a
    selected layer each neuron sees its class's scaled input (input form:
    the up-projection bias is not scaled)."""
    pre = arch.layer_prefix(l) + "mlp."
    if arch.family == "bloom":
        up = pre + "dense_h_to_4h"

        def hidden(xs, bias_factor=1.0):
            # bias_factor != 1 only for the check that the wrong form differs
            return gelu_tanh(linear(P, var, xs, up) + (bias_factor - 1.0) * P[up + ".bias"])
        down = pre + "dense_4h_to_h"
    else:
        def hidden(xs, bias_factor=1.0):   # no bias: bias_factor has no effect
            return F.silu(linear(P, var, xs, pre + "gate_proj")) * linear(P, var, xs, pre + "up_proj")
        down = pre + "down_proj"
    r = var.route
    if r is None or l not in r["layers"]:
        h = hidden(x)
    else:
        c = r["scale"] * torch.sigmoid(x @ P[f"routing.{l}.w"] + P[f"routing.{l}.b"])  # (B, T)
        probe.c[l] = c
        factors = (None, c[..., None], r["scale"] - c[..., None])   # rest, general, specific
        wrong = r.get("wrong")   # a wrong form, only to show that it differs
        h = 0
        for k, fac in enumerate(factors):
            mask = (r["classes"][l] == k).to(x.dtype)
            if fac is None:
                h = h + mask * hidden(x)
            elif wrong == "scale_h":
                h = h + mask * fac * hidden(x)
            else:
                h = h + mask * hidden(fac * x, fac if wrong == "scale_bias" else 1.0)
    if l in probe.h_add:
        h = h + probe.h_add[l]
    if probe.h is not None:
        h.retain_grad()
        probe.h.append(h)
    return linear(P, var, h, down)


def forward(P, arch, var, tokens, probe=None):
    probe = probe or Probe()
    x = P[arch.embed_name()][tokens]
    if arch.family == "bloom":
        def norm(x, mod):
            return F.layer_norm(x, (arch.C,), P[mod + ".weight"], P[mod + ".bias"], arch.eps)
        x = norm(x, arch.prefix + "word_embeddings_layernorm")
        attention, final = bloom_attention, arch.prefix + "ln_f"
        attn_pre = "self_attention."
    else:
        def norm(x, mod):
            return rms_norm(x, P[mod + ".weight"], arch.eps)
        attention, final = llama_attention, "model.norm"
        attn_pre = "self_attn."
    for l in range(arch.L):
        p = arch.layer_prefix(l)
        x = x + attention(P, var, arch, p + attn_pre, norm(x, p + "input_layernorm"))
        x = x + ffn(P, var, arch, l, norm(x, p + "post_attention_layernorm"), probe)
        if probe.blocks is not None:
            probe.blocks.append(x.detach())
    x = norm(x, final)
    head = P[arch.embed_name()] if arch.tied else P["lm_head.weight"]
    return x @ head.t()


# --------------------------------------------------------------------------
# reference computations (run in float64 for the truth, in float32 only to
# measure how far an fp32 implementation lands from it)
# --------------------------------------------------------------------------
def as_leaves(P):
    return {n: t.detach().clone().requires_grad_(True) for n, t in P.items()}


def loss_and_grads(P, arch, var, tokens, targets, weight):
    """logits, loss_sum, n_tokens, d(loss_sum/n_tokens)/d(every leaf), the
    FFN activations h of every layer and dL/dh, the gate values c."""
    L = as_leaves(P)
    probe = Probe(capture=True)
    logits = forward(L, arch, var, tokens, probe)
    loss_sum, n_tok = weighted_ce(logits, targets, weight)
    (loss_sum / n_tok).backward()
    return dict(logits=logits.detach(), loss_sum=loss_sum.item(), n_tokens=n_tok,
                grads={n: t.grad.detach().clone() for n, t in L.items()},
                ffn_h=[h.detach() for h in probe.h],
                ffn_dh=[h.grad.detach() for h in probe.h],
                c={l: c.detach() for l, c in probe.c.items()})


def sentence_awareness(P, arch, var, tokens, targets, weight):
    """As llama_ref.py, per sentence (row) run alone:
    awareness[b, l, i] = mean over the row's T positions of |h_i dL_b/dh_i|
    with L_b the row's plain mean cross-entropy over its positions with
    weight != 0 (the weight values are ignored); block_mean[b, l] = mean over
    positions and hidden units of block l's output (the residual stream after
    the block)."""
    aw, bm = [], []
    for b in range(tokens.shape[0]):
        L = as_leaves(P)
        probe = Probe(capture=True, blocks=True)
        logits = forward(L, arch, var, tokens[b:b + 1], probe)
        mask = (weight[b:b + 1] != 0).to(logits.dtype)
        ls, n = weighted_ce(logits, targets[b:b + 1], mask)
        (ls / n).backward()
        aw.append(torch.stack([(h * h.grad).abs()[0].mean(dim=0) for h in probe.h]))
        bm.append(torch.stack([o[0].mean() for o in probe.blocks]))
    return torch.stack(aw).detach(), torch.stack(bm).detach()


def loss_value(P, arch, var, tokens, targets, weight, probe=None):
    with torch.no_grad():
        ls, n = weighted_ce(forward(P, arch, var, tokens, probe), targets, weight)
    return (ls / n).item()


class FdStats:
    """pass iff |fd - autograd| <= FD_ATOL + FD_RTOL |autograd| (llama_ref.py)"""

    def __init__(self):
        self.count, self.worst_rel, self.worst_abs, self.ok = 0, 0.0, 0.0, True

    def add(self, num, ana):
        err = abs(num - ana)
        self.worst_rel = max(self.worst_rel, err / max(abs(num), abs(ana), 1e-4))
        self.worst_abs = max(self.worst_abs, err)
        self.ok = self.ok and err <= FD_ATOL + FD_RTOL * abs(ana)
        self.count += 1

    def __str__(self):
        return (f"{self.count} entries, max rel err (denominator >= 1e-4) "
                f"{self.worst_rel:.3e}, max abs err {self.worst_abs:.3e}")


def fd_params(P, arch, var, inputs, grads, names, n_per=3, seed=1, h=1e-5):
    """central differences of loss_sum/n_tokens on n_per random entries of
    each named tensor (float64)."""
    g = torch.Generator().manual_seed(seed)
    Q = {n: t.detach().clone() for n, t in P.items()}
    st = FdStats()
    for name in names:
        flat = Q[name].view(-1)
        for i in torch.randint(0, flat.numel(), (n_per,), generator=g).tolist():
            old = flat[i].item()
            flat[i] = old + h
            fp = loss_value(Q, arch, var, *inputs)
            flat[i] = old - h
            fm = loss_value(Q, arch, var, *inputs)
            flat[i] = old
            st.add((fp - fm) / (2 * h), grads[name].view(-1)[i].item())
    return st


def fd_h(P, arch, var, inputs, dhs, n_per=6, seed=2, h=1e-5):
    """central differences of loss_sum/n_tokens w.r.t. entries of each
    layer's FFN activation h."""
    g = torch.Generator().manual_seed(seed)
    st = FdStats()
    for l, dh in enumerate(dhs):
        for i in torch.randint(0, dh.numel(), (n_per,), generator=g).tolist():
            fs = []
            for sign in (1.0, -1.0):
                probe = Probe()
                add = torch.zeros(dh.shape, dtype=dh.dtype)
                add.view(-1)[i] = sign * h
                probe.h_add[l] = add
                fs.append(loss_value(P, arch, var, *inputs, probe))
            st.add((fs[0] - fs[1]) / (2 * h), dh.reshape(-1)[i].item())
    return st


def rel_err(a, r):
    """max |a - r| / max |r| over one tensor"""
    return (a.double() - r).abs().max().item() / max(r.abs().max().item(), 1e-300)


def fp32_errors(P32, arch, var, inputs, ref, grad_names):
    """errors of torch float32 against the float64 truth, per quantity:
    loss relative, tensors max-normalised (worst tensor)."""
    r = loss_and_grads(P32, arch, var, *inputs)
    return dict(
        loss=abs(r["loss_sum"] - ref["loss_sum"]) / abs(ref["loss_sum"]),
        logits=rel_err(r["logits"], ref["logits"]),
        grads=max(rel_err(r["grads"][n], ref["grads"][n]) for n in grad_names),
        ffn_h=max(rel_err(a, b) for a, b in zip(r["ffn_h"], ref["ffn_h"])),
        ffn_dh=max(rel_err(a, b) for a, b in zip(r["ffn_dh"], ref["ffn_dh"])))


def logits_gap(P, arch, var, tokens, ref_logits):
    """max |logits - ref| / max |ref| of a deliberately wrong variant"""
    with torch.no_grad():
        return rel_err(forward(P, arch, var, tokens), ref_logits)


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
BLOOM_TARGETS = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")
ROUTING_SCALE = 2.0
LORA_RANK, LORA_ALPHA = 2, 4.0

CASES = {
    # head_dim 12 != hidden/heads = 6; q/k/v/o biases; llama3 rope scaling
    # whose original context 64 puts the 6 frequencies in all three regimes;
    # eos_token_id a list, as in Llama 3.1 configs
    "llama3": dict(
        config=llama_config(
            vocab_size=32, hidden_size=24, intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=12,
            attention_bias=True, mlp_bias=False, rms_norm_eps=1e-5,
            rope_theta=10000.0, max_position_embeddings=512,
            rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                              high_freq_factor=4.0, original_max_position_embeddings=64),
            bos_token_id=29, eos_token_id=[30, 31]),
        B=2, T=8, seed=1101, routing=[0, 1], lora=LLAMA_TARGETS),
    # sliding window 3 < T = 8
    "mistral": dict(
        config=mistral_config(
            vocab_size=32, hidden_size=24, intermediate_size=16, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
            rope_theta=10000.0, max_position_embeddings=256, sliding_window=3,
            bos_token_id=1, eos_token_id=2),
        B=2, T=8, seed=2202, routing=None, lora=("o_proj", "gate_proj", "down_proj")),
    # q/k/v biases, tied, theta 1e6; sliding_window 4 < T is present but
    # disabled by use_sliding_window: false (it must be ignored)
    "qwen2": dict(
        config=qwen2_config(
            vocab_size=32, hidden_size=24, intermediate_size=16, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-6,
            rope_theta=1000000.0, max_position_embeddings=256, sliding_window=4,
            max_window_layers=1, bos_token_id=31, eos_token_id=31),
        B=3, T=7, seed=3303, routing=None, lora=("q_proj", "v_proj")),
    # the paper's family: 3 heads (extra-base ALiBi slopes), transformer. prefix
    "bloom": dict(
        config=bloom_config(
            vocab_size=32, hidden_size=24, n_layer=2, n_head=3, layer_norm_epsilon=1e-5,
            bos_token_id=1, eos_token_id=2, pad_token_id=3),
        prefix="transformer.", B=2, T=8, seed=4404, routing=[1], lora=BLOOM_TARGETS),
    # names without the prefix (as BloomModel saves them), 6 heads of odd
    # dimension 3
    "bloom_noprefix": dict(
        config=bloom_config(
            vocab_size=30, hidden_size=18, n_layer=2, n_head=6, layer_norm_epsilon=1e-5,
            bos_token_id=1, eos_token_id=2, pad_token_id=3),
        prefix="", B=2, T=9, seed=5505, routing=[0, 1], lora=BLOOM_TARGETS),
}


def make_inputs(V, B, T, seed):
    """as llama_ref.py: random tokens and targets; weight 0 on the first 2
    (prompt) positions, one 0.5, one 2.0, the rest 1."""
    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, V, (B, T), generator=g, dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=g, dtype=torch.int64)
    weight = torch.ones(B, T, dtype=torch.float32)
    weight[:, :2] = 0.0
    weight[0, T - 1] = 0.5
    weight[B - 1, 3] = 2.0
    return tokens, targets, weight


def make_routing(arch, layers, seed):
    """random classes (0 rest, 1 general, 2 specific; each present) and
    random nonzero float32 gates per selected layer."""
    g = torch.Generator().manual_seed(seed + 7)
    classes, gates = {}, {}
    for l in layers:
        cls = torch.randint(0, 3, (arch.F,), generator=g)
        cls[torch.randperm(arch.F, generator=g)[:3]] = torch.tensor([0, 1, 2])
        classes[l] = cls
        gates[f"routing.{l}.w"] = 0.2 * torch.randn(arch.C, generator=g, dtype=torch.float32)
        mag = 0.2 + 0.6 * torch.rand((), generator=g, dtype=torch.float32)
        sign = 1.0 if torch.rand((), generator=g).item() < 0.5 else -1.0
        gates[f"routing.{l}.b"] = sign * mag
    return dict(layers=list(layers), classes=classes, scale=ROUTING_SCALE), gates


def make_lora(arch, targets, seed):
    """PEFT LoRA on every layer's target modules: A (r, in), B (out, r),
    both random and nonzero (float32); scaling = alpha / r."""
    g = torch.Generator().manual_seed(seed + 13)
    modules, ad = [], {}
    for l in range(arch.L):
        for mod, out, inp, _ in arch.linears(l):
            if mod.rsplit(".", 1)[1] in targets:
                modules.append(mod)
                ad[mod + ".lora_A.weight"] = 0.2 * torch.randn(LORA_RANK, inp, generator=g)
                ad[mod + ".lora_B.weight"] = 0.1 * torch.randn(out, LORA_RANK, generator=g)
    return dict(modules=modules, scaling=LORA_ALPHA / LORA_RANK), ad


def write_hf_dir(path, cfg, params32):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        f.write(config_text(cfg))
    safetensors_write(os.path.join(path, "model.safetensors"),
                      {n: t.numpy() for n, t in params32.items()})


def read_hf_dir(path):
    """config.json + model.safetensors -> (Arch, float32 params), as a
    loader would see them (the BLOOM name prefix is detected)."""
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    arrays = safetensors_read(os.path.join(path, "model.safetensors"))
    prefix = "transformer." if any(n.startswith("transformer.") for n in arrays) else ""
    arch = Arch(cfg, prefix)
    shapes = arch.param_shapes()
    assert set(arrays) == set(shapes), set(arrays) ^ set(shapes)
    assert all(tuple(arrays[n].shape) == tuple(s) for n, s in shapes.items())
    return arch, {n: torch.from_numpy(arrays[n]) for n in shapes}


def to64(P):
    return {n: t.double() for n, t in P.items()}


# --------------------------------------------------------------------------
# checks that the fixture tells the right semantics from plausible wrong
# ones: each wrong variant must move the logits by more than 10x the
# suggested tolerance (1e-4 of max |logits|)
# --------------------------------------------------------------------------
GAP_MIN = 1e-3


def wrong_arch(arch, **changes):
    a = copy.copy(arch)
    for k, v in changes.items():
        setattr(a, k, v)
    return a


def semantic_gaps(arch, cfg, P, tokens, ref_logits):
    """(mistake, gap) for the plain model's plausible misreadings"""
    base, gaps = Variant(), []

    def gap(what, a=arch, p=P):
        gaps.append((what, logits_gap(p, a, base, tokens, ref_logits)))

    if arch.family == "bloom":
        H = arch.H
        naive = torch.tensor([2.0 ** (-8.0 * (h + 1) / H) for h in range(H)], dtype=torch.float64)
        gap("ALiBi slopes 2^(-8(h+1)/H) (the power-of-two rule) for every H", wrong_arch(arch, slopes=naive))
        perm = torch.arange(3 * arch.C).view(3, H, arch.D).transpose(0, 1).reshape(-1)
        Pb = dict(P)
        for l in range(arch.L):
            mod = arch.layer_prefix(l) + "self_attention.query_key_value"
            Pb[mod + ".weight"], Pb[mod + ".bias"] = P[mod + ".weight"][perm], P[mod + ".bias"][perm]
        gap("fused query_key_value read as [q | k | v] blocks", p=Pb)
        return gaps
    if cfg.get("rope_scaling"):
        plain, _ = rope_inv_freq(arch.D, cfg["rope_theta"], None)
        gap("rope_scaling ignored", wrong_arch(arch, inv_freq=plain))
        med = torch.tensor([r == "medium" for r in arch.regimes])
        gap("medium band divided by factor (no smoothing)",
            wrong_arch(arch, inv_freq=torch.where(med, plain / cfg["rope_scaling"]["factor"], arch.inv_freq)))
        gap("medium band kept (no smoothing)",
            wrong_arch(arch, inv_freq=torch.where(med, plain, arch.inv_freq)))
    if arch.o_bias:
        gap("o_proj bias dropped", p={n: (t * 0 if n.endswith("o_proj.bias") else t) for n, t in P.items()})
    if arch.window:
        gap("sliding window ignored", wrong_arch(arch, window=0))
        gap("sliding window one key wider", wrong_arch(arch, window=arch.window + 1))
    if arch.model_type == "qwen2":
        gap("sliding_window applied although use_sliding_window is false",
            wrong_arch(arch, window=cfg["sliding_window"]))
        gap("rope_theta 10000 instead of the config's",
            wrong_arch(arch, inv_freq=rope_inv_freq(arch.D, 10000.0, None)[0]))
    return gaps


# --------------------------------------------------------------------------
# one case: the directory, the three variants, their self-checks
# --------------------------------------------------------------------------
def run_variant(tag, P32, arch, var, inputs, fd_names, log, seed):
    """expected values (float64) of one variant, its finite-difference checks
    and its fp32 errors."""
    P = to64(P32)
    res = loss_and_grads(P, arch, var, *inputs)
    fd = fd_params(P, arch, var, inputs, res["grads"], fd_names, seed=seed)
    fdh = fd_h(P, arch, var, inputs, res["ffn_dh"], seed=seed + 1)
    err = fp32_errors(P32, arch, var, inputs, res, fd_names)
    log(f"{tag}: loss_sum={res['loss_sum']:.10f} n_tokens={res['n_tokens']:.0f} "
        f"fp32-vs-fp64 max |dlogits| = {err['logits'] * res['logits'].abs().max().item():.3e}")
    log(f"{tag}: finite differences (params): {fd}")
    log(f"{tag}: finite differences (h): {fdh}")
    res["fd_ok"] = fd.ok and fdh.ok
    res["fp32"] = err
    return res


def build_case(name, spec, stage):
    def log(msg):
        print(f"[{name}] {msg}")

    cfg = spec["config"]
    made = init_params(Arch(cfg, spec.get("prefix", "")), spec["seed"])
    write_hf_dir(os.path.join(stage, name), cfg, made)
    arch, P32 = read_hf_dir(os.path.join(stage, name))
    assert all(torch.equal(P32[n], made[n]) for n in made), "safetensors round trip"
    inputs = make_inputs(arch.V, spec["B"], spec["T"], spec["seed"])
    tokens = inputs[0]
    if arch.family == "bloom":
        log(f"ALiBi slopes ({arch.H} heads): " + " ".join(f"{s:.6g}" for s in arch.slopes.tolist()))
    else:
        log("rope inv_freq: " + " ".join(f"{f:.5g}({r})" for f, r in
                                         zip(arch.inv_freq.tolist(), arch.regimes)))
    ok = True

    plain = Variant()
    res = run_variant("plain", P32, arch, plain, inputs, list(P32), log, 1)
    res["awareness"], res["block_mean"] = sentence_awareness(to64(P32), arch, plain, *inputs)
    aw32, bm32 = sentence_awareness(P32, arch, plain, *inputs)
    res["fp32"]["awareness"] = rel_err(aw32, res["awareness"])
    res["fp32"]["block_mean"] = rel_err(bm32, res["block_mean"])
    gaps = semantic_gaps(arch, cfg, to64(P32), tokens, res["logits"])
    ok = ok and res["fd_ok"]

    built = dict(cfg=cfg, arch=arch, inputs=inputs, res=res, route=None, targets=spec["lora"])
    if spec["routing"] is not None:
        rok, rgaps = build_routing(built, P32, spec, log)
        ok, gaps = ok and rok, gaps + rgaps

    lok, lgaps = build_lora(built, P32, spec, log)
    ok, gaps = ok and lok, gaps + lgaps

    for what, g in gaps:
        log(f"wrong semantics moves the logits by {g:.3e} of max|logits|: {what}")
        ok = ok and g > GAP_MIN
    for tag, key in (("plain", "res"), ("routing", "rres"), ("lora", "lres")):
        if key in built:
            log(f"fp32 errors ({tag}): " + " ".join(f"{k} {v:.2e}" for k, v in built[key]["fp32"].items()))
    built["ok"] = ok
    return built


def build_routing(built, P32, spec, log):
    """the CAR variant of a case; adds route, gates32, rres to built and
    returns (checks passed, semantic gaps)."""
    arch, res, tokens = built["arch"], built["res"], built["inputs"][0]
    route, gates32 = make_routing(arch, spec["routing"], spec["seed"])
    rv = Variant(route=route)
    rres = run_variant("routing", {**P32, **gates32}, arch, rv, built["inputs"],
                       list(P32) + list(gates32), log, 3)
    zero = {**to64(P32), **{n: torch.zeros_like(t, dtype=torch.float64) for n, t in gates32.items()}}
    with torch.no_grad():
        preserved = torch.equal(forward(zero, arch, rv, tokens), res["logits"])
    log(f"routing: w = 0, b = 0, scale {ROUTING_SCALE:g} gives the unrouted logits bit for bit: {preserved}")
    gaps = [("CAR routing ignored", logits_gap(to64(P32), arch, Variant(), tokens, rres["logits"]))]
    wrongs = [("scale_h", "CAR scaling h instead of the FFN input")]
    if arch.family == "bloom":
        wrongs.append(("scale_bias", "CAR scaling dense_h_to_4h's bias with the input"))
    for wrong, what in wrongs:
        var = Variant(route={**route, "wrong": wrong})
        gaps.append((what, logits_gap(to64({**P32, **gates32}), arch, var, tokens, rres["logits"])))
    built.update(route=route, gates32=gates32, rres=rres)
    return rres["fd_ok"] and preserved, gaps


def build_lora(built, P32, spec, log):
    """the LoRA variant of a case; adds lora, ad32, lres to built and returns
    (checks passed, semantic gaps)."""
    arch, res, tokens = built["arch"], built["res"], built["inputs"][0]
    lora, ad32 = make_lora(arch, spec["lora"], spec["seed"])
    lv = Variant(lora=lora)
    lres = run_variant("lora", {**P32, **ad32}, arch, lv, built["inputs"], list(ad32), log, 5)
    PL = to64({**P32, **ad32})
    with torch.no_grad():
        b0 = {n: (t * 0 if n.endswith("lora_B.weight") else t) for n, t in PL.items()}
        base_kept = torch.equal(forward(b0, arch, lv, tokens), res["logits"])
        merged = dict(PL)
        for mod in lora["modules"]:
            merged[mod + ".weight"] = PL[mod + ".weight"] + lora["scaling"] * (
                PL[mod + ".lora_B.weight"] @ PL[mod + ".lora_A.weight"])
        d_merge = rel_err(forward(merged, arch, Variant(), tokens), lres["logits"])
    log(f"lora: B = 0 gives the base logits bit for bit: {base_kept}; "
        f"merged W + (alpha/r) B A vs unmerged: max rel {d_merge:.3e}")
    wrong = Variant(lora={**lora, "scaling": LORA_ALPHA})
    gaps = [("LoRA scaled by alpha instead of alpha/r",
             logits_gap(PL, arch, wrong, tokens, lres["logits"]))]
    built.update(lora=lora, ad32=ad32, lres=lres)
    return lres["fd_ok"] and base_kept and d_merge < 1e-12, gaps


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def put(g, name, data):
    # no object timestamps: regenerating gives the same bytes
    g.create_dataset(name, data=data, track_times=False)


def write_expected(g, r, grad_names):
    put(g, "logits", r["logits"].numpy())
    put(g, "loss_sum", np.float64(r["loss_sum"]))
    put(g, "n_tokens", np.float64(r["n_tokens"]))
    for n in grad_names:
        put(g, f"grads/{n}", r["grads"][n].numpy())
    for l, (h, dh) in enumerate(zip(r["ffn_h"], r["ffn_dh"])):
        put(g, f"ffn_h/{l}", h.numpy())
        put(g, f"ffn_dh/{l}", dh.numpy())


def write_case(f, name, b):
    arch = b["arch"]
    g = f.create_group(name)
    g.attrs["model_dir"] = f"hf/{name}"
    g.attrs["model_type"] = arch.model_type
    g.attrs["family"] = arch.family
    g.attrs["name_prefix"] = arch.prefix
    for key, val in (("vocab_size", arch.V), ("hidden_size", arch.C), ("num_layers", arch.L),
                     ("num_heads", arch.H), ("num_kv_heads", arch.KV), ("head_dim", arch.D),
                     ("intermediate_size", arch.F), ("tied", int(arch.tied)),
                     ("sliding_window", arch.window)):
        g.attrs[key] = np.int64(val)
    g.attrs["norm_eps"] = np.float64(arch.eps)
    tokens, targets, weight = b["inputs"]
    put(g, "inputs/tokens", tokens.numpy().astype(np.int32))
    put(g, "inputs/targets", targets.numpy().astype(np.int32))
    put(g, "inputs/weight", weight.numpy().astype(np.float32))
    r = b["res"]
    e = g.create_group("expected")
    write_expected(e, r, list(arch.param_shapes()))
    put(e, "awareness", r["awareness"].numpy())
    put(e, "block_mean", r["block_mean"].numpy())
    if arch.family == "bloom":
        put(e, "alibi_slopes", arch.slopes.numpy())
    else:
        put(e, "inv_freq", arch.inv_freq.numpy())
        e["inv_freq"].attrs["regimes"] = ",".join(arch.regimes)

    if b["route"] is not None:
        write_routing(g, b)
    write_lora(g, b)


def write_routing(g, b):
    arch, route, rr = b["arch"], b["route"], b["rres"]
    rg = g.create_group("routing")
    rg.attrs["scale"] = np.float64(route["scale"])
    put(rg, "layers", np.array(route["layers"], dtype=np.int32))
    for l in route["layers"]:
        put(rg, f"classes/{l}", route["classes"][l].numpy().astype(np.int32))
        for k in ("w", "b"):
            put(rg, f"gates/{l}/{k}", b["gates32"][f"routing.{l}.{k}"].numpy())
    re_ = rg.create_group("expected")
    write_expected(re_, rr, list(arch.param_shapes()))
    for l in route["layers"]:
        for k in ("w", "b"):
            put(re_, f"gate_grads/{l}/{k}", rr["grads"][f"routing.{l}.{k}"].numpy())
        put(re_, f"c/{l}", rr["c"][l].numpy())


def write_lora(g, b):
    lora, lr = b["lora"], b["lres"]
    lg = g.create_group("lora")
    lg.attrs["rank"] = np.int64(LORA_RANK)
    lg.attrs["alpha"] = np.float64(LORA_ALPHA)
    lg.attrs["scaling"] = np.float64(lora["scaling"])
    lg.attrs["targets"] = ",".join(b["targets"])
    lg.attrs["layers"] = "all"
    for n, t in b["ad32"].items():
        put(lg, f"params/{n}", t.numpy())
    le = lg.create_group("expected")
    put(le, "logits", lr["logits"].numpy())
    put(le, "loss_sum", np.float64(lr["loss_sum"]))
    put(le, "n_tokens", np.float64(lr["n_tokens"]))
    for n in b["ad32"]:
        put(le, f"grads/{n}", lr["grads"][n].numpy())


def write_fixture(path, built):
    import h5py
    tmp = path + ".tmp.h5"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["generator"] = GENERATOR
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["cases"] = ",".join(built)
        for name, b in built.items():
            write_case(f, name, b)
    os.replace(tmp, path)


def crosscheck_llama_ref():
    """this file's functional forward against llama_ref.py's module model on
    llama_ref's two cases (its attention_bias is Qwen2's q/k/v-only bias);
    returns the largest max |dlogits| / max |logits| (float64)."""
    worst = 0.0
    for spec in llama_ref.CASES.values():
        c = spec["cfg"]
        model = llama_ref.LlamaForCausalLM(llama_ref.Config(**c)).double()
        llama_ref.init_params(model, spec["seed"])
        kind = qwen2_config if c["attention_bias"] else llama_config
        cfg = kind(**{k: v for k, v in c.items() if k != "attention_bias"})
        P = {n: p.detach() for n, p in model.named_parameters()}
        tokens = llama_ref.make_inputs(llama_ref.Config(**c), spec["B"], spec["T"], spec["seed"])[0]
        with torch.no_grad():
            worst = max(worst, rel_err(forward(P, Arch(cfg), Variant(), tokens), model(tokens)))
    return worst


def summarize(built):
    """worst fp32 error per quantity over all cases and variants"""
    worst = {}
    for b in built.values():
        for tag in ("res", "rres", "lres"):
            if tag not in b:
                continue
            for k, v in b[tag]["fp32"].items():
                worst[k] = max(worst.get(k, 0.0), v)
    print("worst fp32-vs-fp64 error over all cases and variants (loss relative, "
          "tensors max|a-r|/max|r|): " + " ".join(f"{k} {v:.2e}" for k, v in worst.items()))


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default_dir = os.path.normpath(os.path.join(here, "..", "fixtures"))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=default_dir,
                    help="directory receiving hf/<case>/ and hf_ref.h5")
    ap.add_argument("--check-only", action="store_true",
                    help="run the self-checks, write nothing")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.fixtures, exist_ok=True)
    stage = os.path.join(args.fixtures, "hf.tmp")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        built = {name: build_case(name, spec, stage) for name, spec in CASES.items()}
        ok = all(b["ok"] for b in built.values())
        for name, b in built.items():
            if not b["ok"]:
                print(f"[{name}] SELF-CHECK FAILED", file=sys.stderr)
        d_ref = crosscheck_llama_ref()
        print(f"forward vs llama_ref.py's model on its cases: max rel {d_ref:.3e}")
        ok = ok and d_ref < 1e-12
        summarize(built)
        if not ok or args.check_only:
            return 0 if ok else 1
        out = os.path.join(args.fixtures, "hf_ref.h5")
        write_fixture(out, built)
        final = os.path.join(args.fixtures, "hf")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    total = os.path.getsize(out)
    for name in built:
        for fn in ("config.json", "model.safetensors"):
            total += os.path.getsize(os.path.join(final, name, fn))
    print(f"wrote {out} ({os.path.getsize(out)} bytes) and {final}/ (all files {total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
