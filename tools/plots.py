#!/usr/bin/python3
"""Plots of a landermt run (optional; needs Debian's python3-matplotlib and
python3-h5py, which tools/setup.sh installs; the core never needs them).

    /usr/bin/python3 tools/plots.py --run runs/demo [--out runs/demo/plots]

Reads whichever of these exist: <run>/neurons.h5 (landermt detect),
<run>/base/metrics.jsonl (pretraining), <run>/<mode>/metrics.jsonl for the
other directories (finetuning), <run>/eval/eval.json (landermt evaluate);
writes PNG files:
  relevance.png      D per layer transition and direction, selected layers marked
  awareness.png      per selected layer: mean awareness against its spread over the
                     directions, each neuron coloured by its class
  classes.png        specific neurons per direction and selected layer (general: the rest)
  loss_pretrain.png  pretraining loss per stream (directions and languages)
  loss.png           finetuning loss per direction, one line per mode
  comparison.png     BLEU and chrF per direction and model, perplexity change
                     per language against the first (base) model
  sweep.png          with --sweep: mean BLEU, chrF and perplexity change against
                     k, one line per epsilon (jobs/paper_small.sh)
"""
import argparse
import glob
import json
import os
import re

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 110
# A model keeps its colour in every plot (the demo's order; others follow in
# the order they are first drawn).
MODELS = ["base", "landermt", "full", "layers", "lora"]


OTHERS = []  # models outside MODELS, in the order they are first drawn


def colour_of(name):
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if name in MODELS:
        return cycle[MODELS.index(name) % len(cycle)]
    if name not in OTHERS:
        OTHERS.append(name)
    return cycle[(len(MODELS) + OTHERS.index(name)) % len(cycle)]


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def names(ds):
    return [text(u) for u in ds[()]]


def smooth(y, n):
    """Trailing mean over n points (the first points average what there is);
    None (a stream without target tokens in that step) is left out."""
    y = np.array([np.nan if v is None else v for v in y], float)
    ok = ~np.isnan(y)
    c = np.cumsum(np.insert(np.where(ok, y, 0.0), 0, 0.0))
    k = np.cumsum(np.insert(ok, 0, False))
    hi = np.arange(1, len(y) + 1)
    lo = np.maximum(hi - n, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c[hi] - c[lo]) / (k[hi] - k[lo])


def save(fig, out, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=DPI)
    plt.close(fig)
    return name


def plot_relevance(nr, out):
    D = nr["layer_relevance/D"][()]  # (U, L-1)
    sel = list(nr["layer_relevance/selected"][()])
    units = names(nr["units"])
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(D.shape[1])
    for layer in sel:
        ax.axvspan(layer - 0.5, layer + 0.5, color="tab:red", alpha=0.12, linewidth=0)
    for u, row in zip(units, D):
        ax.plot(x + 0.5, row, marker=".", alpha=0.7, label=u)
    ax.plot(x + 0.5, D.mean(axis=0), color="black", linewidth=2, label="mean (selects)")
    ax.set_xticks(np.arange(D.shape[1] + 1))
    ax.set_xlim(-0.5, D.shape[1] + 0.5)
    ax.set_xlabel("layer (D is plotted between layers l and l+1; shaded = selected)")
    ax.set_ylabel("D = |A[l+1] - A[l]|")
    ax.set_title(f"Layer relevance, {text(nr.attrs['selection'])}: selected layers "
                 f"{', '.join(map(str, sel))}")
    ax.legend(fontsize=7)
    return save(fig, out, "relevance.png")


def classes_of(nr, layer, units):
    g = nr[f"classes/layer_{layer}"]
    return g["general"][()], {u: g["specific"][u][()] for u in units if u in g["specific"]}


def plot_awareness(nr, out):
    sel = list(nr["layer_relevance/selected"][()])
    units = names(nr["units"])
    scores = nr["awareness/scores"][()]  # (U, L, F)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(sel), figsize=(4.2 * len(sel), 3.8), squeeze=False)
    for ax, layer in zip(axes[0], sel):
        general, spec = classes_of(nr, layer, units)
        s = scores[:, layer, :]
        mean, sd = s.mean(axis=0), s.std(axis=0)  # population spread over units: what classifies
        ax.scatter(mean[general], sd[general], s=5, color="0.6", label=f"general ({len(general)})")
        for k, u in enumerate(units):
            idx = spec.get(u, [])
            ax.scatter(mean[idx], sd[idx], s=9, color=colors[(k + 1) % len(colors)],
                       label=f"{u} ({len(idx)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"layer {layer}")
        ax.set_xlabel("awareness, mean over directions")
        ax.set_ylabel("std over directions")
        ax.legend(fontsize=7, markerscale=2)
    fig.suptitle("Neuron awareness per selected layer: the most direction-dependent "
                 f"{1 - float(nr.attrs['epsilon']):.0%} are specific", fontsize=10)
    return save(fig, out, "awareness.png")


def plot_classes(nr, out):
    sel = list(nr["layer_relevance/selected"][()])
    units = names(nr["units"])
    F = int(nr.attrs["intermediate_size"])
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(units), 3.8))
    width = 0.8 / len(sel)
    general = []
    for k, layer in enumerate(sel):
        gen, spec = classes_of(nr, layer, units)
        general.append(len(gen))
        b = ax.bar(np.arange(len(units)) + k * width, [len(spec.get(u, [])) for u in units], width,
                   label=f"layer {layer}")
        ax.bar_label(b, fontsize=7, padding=1)
    ax.set_xticks(np.arange(len(units)) + 0.4 - width / 2)
    ax.set_xticklabels(units)
    ax.set_ylabel("specific neurons (owner = highest awareness)")
    gshare = ", ".join(f"{g} ({g / F:.0%})" for g in general)
    ax.set_title(f"Specific neurons per direction; general per layer: {gshare} of {F}", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, out, "classes.png")


def read_metrics(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    train = [r for r in rows if "streams" in r]
    valid = [r for r in rows if "valid_loss" in r]
    return train, valid


def plot_pretrain(path, out):
    train, valid = read_metrics(path)
    if not train:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    steps = [r["step"] for r in train]
    n = max(1, len(train) // 25)
    for s in train[0]["streams"]:
        ax.plot(steps, smooth([r["streams"][s] for r in train], n), linewidth=1,
                linestyle="-" if "-" in s else "--", label=s)
    if valid:
        ax.plot([r["step"] for r in valid], [r["valid_loss"] for r in valid], "ko", label="valid (all)")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss per token (smoothed)")
    ax.set_title("Pretraining the base: bitext directions (solid), monolingual text (dashed)")
    ax.legend(fontsize=6, ncol=3)
    return save(fig, out, "loss_pretrain.png")


def plot_finetune(paths, out):
    runs = {}
    for path in paths:
        train, _ = read_metrics(path)
        if train:
            runs[os.path.basename(os.path.dirname(path))] = train
    if not runs:
        return None
    streams = sorted({s for t in runs.values() for s in t[0]["streams"]})
    cols = min(len(streams), 2)
    rows = (len(streams) + cols - 1) // cols
    n = max(1, max(len(t) for t in runs.values()) // 20)  # logged points averaged
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False, sharey=True)
    for ax, s in zip(axes.flat, streams):
        for mode, train in sorted(runs.items()):
            if s in train[0]["streams"]:
                ax.plot([r["step"] for r in train], smooth([r["streams"][s] for r in train], n),
                        linewidth=1.2, label=mode, color=colour_of(mode))
        ax.set_title(s, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss" + (f" (mean of {n} logs)" if n > 1 else ""))
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(streams):]:
        ax.axis("off")
    fig.suptitle("Finetuning loss per direction and mode", fontsize=10)
    return save(fig, out, "loss.png")


def bars(ax, labels, series, ylabel, fmt):
    """Grouped bars, one series per model, each in its model's colour."""
    width = 0.8 / len(series)
    for k, (name, vals) in enumerate(series):
        b = ax.bar(np.arange(len(labels)) + k * width, vals, width, label=name, color=colour_of(name))
        ax.bar_label(b, fmt=fmt, fontsize=5.5, padding=1)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.margins(y=0.25)  # room for the labels and the legend


def plot_comparison(path, trained, models, out):
    r = json.load(open(path))
    ckpts = pick(r["checkpoints"], models)
    dirs = list(ckpts[0]["directions"])
    label = [d if d in trained or not trained else f"{d}\n(not trained)" for d in dirs]
    langs = list(ckpts[0].get("perplexity", {}))
    panels = 3 if langs and len(ckpts) > 1 else 2
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3.1 * panels))
    for ax, metric in zip(axes, ["bleu", "chrf"]):
        bars(ax, label, [(c["name"], [c["directions"][d][metric] for d in dirs]) for c in ckpts],
             {"bleu": "BLEU", "chrf": "chrF2"}[metric], "%.1f")
        ax.legend(fontsize=7, ncol=len(ckpts), loc="upper left")
    axes[0].set_title(f"{r.get('split', 'test')} split: translation quality per direction and model")
    if panels == 3:
        base = ckpts[0]["perplexity"]
        bars(axes[2], langs, [(c["name"], [100 * (c["perplexity"][g] / base[g] - 1)
                                           for g in langs]) for c in ckpts[1:]],
             f"perplexity change vs {ckpts[0]['name']} (%)", "%+.0f")
        axes[2].set_title("Forgetting: perplexity of each language's monolingual text (higher = worse)")
        axes[2].legend(fontsize=7, ncol=len(ckpts) - 1, loc="upper left")
    return save(fig, out, "comparison.png")


def pick(ckpts, models):
    """The checkpoints named in models (all when empty), in that order."""
    by = {c["name"]: c for c in ckpts}
    return [by[m] for m in models if m in by] if models else ckpts


def sweep_point(name, prefix):
    """(k, epsilon) of a sweep model named PREFIXk<K>_e<E> (E: epsilon's digits
    without the dot, lm_k4_e09 = k 4, epsilon 0.9), else None."""
    m = re.fullmatch(re.escape(prefix) + r"k(\d+)_e(\d)(\d+)", name)
    return (int(m[1]), float(f"{m[2]}.{m[3]}")) if m else None


def plot_sweep(path, prefix, out):
    """Mean BLEU, chrF and perplexity change over the directions/languages
    against k, one line per epsilon; the other models as horizontal lines."""
    r = json.load(open(path))
    ckpts = r["checkpoints"]
    base = ckpts[0].get("perplexity", {})
    def means(c):
        d = c["directions"].values()
        ppl = [100 * (c["perplexity"][g] / base[g] - 1) for g in base]
        return [np.mean([v["bleu"] for v in d]), np.mean([v["chrf"] for v in d]),
                np.mean(ppl) if ppl else np.nan]
    pts = {}
    for c in ckpts:
        p = sweep_point(c["name"], prefix)
        if p:
            pts.setdefault(p[1], []).append((p[0], means(c)))
    if not pts:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    ylabels = ["mean BLEU", "mean chrF2", f"mean perplexity change vs {ckpts[0]['name']} (%)"]
    for j, ax in enumerate(axes):
        for eps, rows in sorted(pts.items()):
            rows.sort()
            ax.plot([k for k, _ in rows], [v[j] for _, v in rows], "o-", label=f"landermt, epsilon {eps:g}")
        for n, c in enumerate(ckpts):
            if not sweep_point(c["name"], prefix) and not (j == 2 and n == 0):
                ax.axhline(means(c)[j], linestyle="--", linewidth=1, color=colour_of(c["name"]),
                           label=c["name"])
        ax.set_xticks(sorted({k for rows in pts.values() for k, _ in rows}))
        ax.set_xlabel("k (selected layers)")
        ax.set_ylabel(ylabels[j])
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{r.get('split', 'test')} split: the k / epsilon sweep (means over "
                 f"{len(ckpts[0]['directions'])} directions, {len(base)} languages)", fontsize=10)
    return save(fig, out, "sweep.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="run directory, e.g. runs/demo")
    ap.add_argument("--out", help="output directory (default <run>/plots)")
    ap.add_argument("--trained", default="", help="comma-separated finetuned directions "
                    "(others are marked 'not trained' in comparison.png)")
    ap.add_argument("--models", default="", help="comma-separated models for loss.png and "
                    "comparison.png, in that order (default: all)")
    ap.add_argument("--sweep", default="", help="name prefix of the k/epsilon sweep's models "
                    "(PREFIXk4_e09 = k 4, epsilon 0.9): writes sweep.png")
    a = ap.parse_args()
    models = [m for m in a.models.split(",") if m]
    out = a.out or os.path.join(a.run, "plots")
    os.makedirs(out, exist_ok=True)
    made = []
    neurons = os.path.join(a.run, "neurons.h5")
    if os.path.exists(neurons):
        with h5py.File(neurons, "r") as nr:
            made += [plot_relevance(nr, out), plot_awareness(nr, out), plot_classes(nr, out)]
    base = os.path.join(a.run, "base", "metrics.jsonl")
    if os.path.exists(base):
        made.append(plot_pretrain(base, out))
    made.append(plot_finetune([p for p in sorted(glob.glob(os.path.join(a.run, "*", "metrics.jsonl")))
                               if p != base and (not models or
                                                 os.path.basename(os.path.dirname(p)) in models)], out))
    ev = os.path.join(a.run, "eval", "eval.json")
    if os.path.exists(ev):
        made.append(plot_comparison(ev, [d for d in a.trained.split(",") if d], models, out))
        if a.sweep:
            made.append(plot_sweep(ev, a.sweep, out))
    print("wrote " + ", ".join(os.path.join(out, m) for m in made if m))


if __name__ == "__main__":
    main()
