#!/usr/bin/python3
"""Independent check of the Hugging Face directories landermt writes.

Reads config.json, model.safetensors / shards + model.safetensors.index.json
with json and numpy only (no landermt code), checks the format rules
transformers relies on, checks that the BF16 and F16 copies are the float32
values rounded to nearest even (torch and numpy do the rounding), and scores
token-id lines with the PyTorch llama reference (tests/reference) in float64
to compare with `landermt logprob`.

    hf_check.py F32_DIR BF16_DIR F16_DIR IDS_FILE LOGPROB_JSONL
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import llama_ref  # noqa: E402

WIDTH = {"F32": 4, "F16": 2, "BF16": 2}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    if n % 8 or 8 + n > len(data):
        fail(f"{path}: header length {n}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    if header.pop("__metadata__", None) != {"format": "pt"}:
        fail(f"{path}: __metadata__ must be {{'format': 'pt'}} for transformers")
    body, out, end = data[8 + n:], {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, f = e["data_offsets"]
        if b != end or f - b != WIDTH[e["dtype"]] * math.prod(e["shape"]):
            fail(f"{path}: {name} offsets {b, f} do not follow {end}")
        end = f
        raw = np.frombuffer(body[b:f], dtype={"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[e["dtype"]])
        out[name] = (e["dtype"], raw.reshape(e["shape"]))
    if end != len(body):
        fail(f"{path}: {len(body) - end} bytes after the last tensor")
    return out


def read_dir(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    index = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(index):
        return cfg, read_safetensors(os.path.join(d, "model.safetensors"))
    idx = json.load(open(index))
    tensors, total = {}, 0
    for shard in sorted(set(idx["weight_map"].values())):
        for name, (dt, a) in read_safetensors(os.path.join(d, shard)).items():
            if idx["weight_map"].get(name) != shard:
                fail(f"{d}: {name} is in {shard}, the index says {idx['weight_map'].get(name)}")
            tensors[name] = (dt, a)
            total += a.nbytes
    if set(tensors) != set(idx["weight_map"]) or idx["metadata"]["total_size"] != total:
        fail(f"{d}: the index and the shards disagree")
    return cfg, tensors


def widen(dt, a):
    if dt == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


def main(f32_dir, bf16_dir, f16_dir, ids_file, logprob_file):
    cfg, f32 = read_dir(f32_dir)
    for d, dt, torch_name in ((bf16_dir, "BF16", "bfloat16"), (f16_dir, "F16", "float16")):
        c, t = read_dir(d)
        if c["torch_dtype"] != torch_name or {k: v for k, v in c.items() if k != "torch_dtype"} != \
                {k: v for k, v in cfg.items() if k != "torch_dtype"}:
            fail(f"{d}: config.json differs beyond torch_dtype")
        if set(t) != set(f32):
            fail(f"{d}: other tensor names")
        for name, (got_dt, a) in t.items():
            ref = f32[name][1]
            if dt == "BF16":
                want = torch.from_numpy(ref.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
            else:
                want = ref.astype(np.float16).view(np.uint16)
            if got_dt != dt or not np.array_equal(a.view(np.uint16), want):
                fail(f"{d}: {name} is not the float32 value rounded to nearest even")
    # log-probabilities with the reference model (float64)
    rc = llama_ref.Config(cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"],
                          cfg["num_hidden_layers"], cfg["num_attention_heads"],
                          cfg["num_key_value_heads"], cfg["max_position_embeddings"],
                          cfg["rms_norm_eps"], cfg["rope_theta"], cfg.get("tie_word_embeddings", False))
    model = llama_ref.LlamaForCausalLM(rc).double()
    state = {k: torch.from_numpy(widen(*v).copy()).double() for k, v in f32.items()}
    model.load_state_dict(state, strict=True)
    got = [json.loads(line) for line in open(logprob_file)]
    worst = 0.0
    with torch.no_grad():
        for k, line in enumerate(open(ids_file)):
            ids = [cfg["bos_token_id"]] + json.loads(line)
            logp = torch.log_softmax(model(torch.tensor([ids]))[0], dim=-1)
            want = sum(logp[t, ids[t + 1]].item() for t in range(len(ids) - 1))
            if got[k]["tokens"] != len(ids) - 1:
                fail(f"line {k + 1}: {got[k]['tokens']} tokens, expected {len(ids) - 1}")
            worst = max(worst, abs(got[k]["logprob"] - want) / max(1.0, abs(want)))
    print(f"format, rounding and reference log-probabilities agree (worst relative difference {worst:.2e})")
    if worst > 1e-5:
        fail("landermt logprob differs from the reference")


if __name__ == "__main__":
    main(*sys.argv[1:])
