#!/usr/bin/python3
"""Plots of a landermt run (optional; needs Debian's python3-matplotlib and
python3-h5py; the core never needs it).

    /usr/bin/python3 tools/plots.py --run runs/demo [--out runs/demo/plots]

Reads <run>/neurons.h5 (landermt detect), <run>/<mode>/metrics.jsonl
(landermt train) and <run>/eval/eval.json (landermt evaluate), whichever
exist, and writes PNG files:
  relevance.png   D per layer transition, selected layers marked
  awareness.png   awareness of general vs specific neurons per selected layer
  classes.png     specific neurons per unit and selected layer
  loss.png        training loss per direction for each mode
  bleu.png        BLEU per direction and checkpoint
"""
import argparse
import glob
import json
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_relevance(nr, out):
    D = nr["layer_relevance/D"][()]
    sel = list(nr["layer_relevance/selected"][()])
    units = [u.decode() if isinstance(u, bytes) else u for u in nr["units"][()]]
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(D.shape[1])
    for u, row in zip(units, D):
        ax.plot(x + 0.5, row, marker=".", alpha=0.6, label=u)
    ax.plot(x + 0.5, D.mean(axis=0), color="black", linewidth=2, label="mean")
    for layer in sel:
        ax.axvline(layer, color="red", linestyle=":", linewidth=1)
    ax.set_xlabel("layer (transitions between layers l and l+1; red = selected)")
    ax.set_ylabel("D = |A[l+1] - A[l]|")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "relevance.png"), dpi=120)


def classes_of(nr, layer):
    g = nr[f"classes/layer_{layer}"]
    spec = {u: g["specific"][u][()] for u in g["specific"]}
    return g["general"][()], spec


def plot_awareness(nr, out):
    sel = list(nr["layer_relevance/selected"][()])
    scores = nr["awareness/scores"][()]  # (U, L, F)
    fig, axes = plt.subplots(1, len(sel), figsize=(4 * len(sel), 3.5), squeeze=False)
    for ax, layer in zip(axes[0], sel):
        general, spec = classes_of(nr, layer)
        specific = np.concatenate(list(spec.values())) if spec else np.array([], int)
        mean = scores[:, layer, :].mean(axis=0)
        bins = np.logspace(np.log10(max(mean.min(), 1e-12)), np.log10(mean.max() + 1e-12), 40)
        ax.hist(mean[general], bins=bins, alpha=0.6, label="general")
        ax.hist(mean[specific], bins=bins, alpha=0.6, label="specific")
        ax.set_xscale("log")
        ax.set_title(f"layer {layer}")
        ax.set_xlabel("mean awareness")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "awareness.png"), dpi=120)


def plot_classes(nr, out):
    sel = list(nr["layer_relevance/selected"][()])
    units = [u.decode() if isinstance(u, bytes) else u for u in nr["units"][()]]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(sel)
    for k, layer in enumerate(sel):
        _, spec = classes_of(nr, layer)
        ax.bar(np.arange(len(units)) + k * width, [len(spec.get(u, [])) for u in units], width,
               label=f"layer {layer}")
    ax.set_xticks(np.arange(len(units)) + 0.4 - width / 2)
    ax.set_xticklabels(units)
    ax.set_ylabel("specific neurons")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "classes.png"), dpi=120)


def plot_loss(run, out):
    files = sorted(glob.glob(os.path.join(run, "*", "metrics.jsonl")))
    if not files:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for path in files:
        mode = os.path.basename(os.path.dirname(path))
        rows = [json.loads(line) for line in open(path) if '"streams"' in line]
        if not rows:
            continue
        for stream in rows[0]["streams"]:
            # null: the stream had no target tokens that step
            loss = [float("nan") if r["streams"][stream] is None else r["streams"][stream] for r in rows]
            ax.plot([r["step"] for r in rows], loss, label=f"{mode} {stream}", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "loss.png"), dpi=120)
    return True


def plot_bleu(path, out):
    r = json.load(open(path))
    ckpts = r["checkpoints"]
    dirs = list(ckpts[0]["directions"])
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(ckpts)
    for k, c in enumerate(ckpts):
        ax.bar(np.arange(len(dirs)) + k * width, [c["directions"][d]["bleu"] for d in dirs], width,
               label=c["name"])
    ax.set_xticks(np.arange(len(dirs)) + 0.4 - width / 2)
    ax.set_xticklabels(dirs)
    ax.set_ylabel("BLEU (sacreBLEU-compatible)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bleu.png"), dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="run directory, e.g. runs/demo")
    ap.add_argument("--out", help="output directory (default <run>/plots)")
    a = ap.parse_args()
    out = a.out or os.path.join(a.run, "plots")
    os.makedirs(out, exist_ok=True)
    made = []
    neurons = os.path.join(a.run, "neurons.h5")
    if os.path.exists(neurons):
        with h5py.File(neurons, "r") as nr:
            plot_relevance(nr, out)
            plot_awareness(nr, out)
            plot_classes(nr, out)
        made += ["relevance.png", "awareness.png", "classes.png"]
    if plot_loss(a.run, out):
        made.append("loss.png")
    ev = os.path.join(a.run, "eval", "eval.json")
    if os.path.exists(ev):
        plot_bleu(ev, out)
        made.append("bleu.png")
    print("wrote " + ", ".join(os.path.join(out, m) for m in made))


if __name__ == "__main__":
    main()
