"""The figures of a study report, each built from plain tables and arrays (no MLflow here).

matplotlib's object API (Figure, no pyplot state), saved with Agg; the GIF through PillowWriter.
"""

import math
import textwrap

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from src.plots import COLORS
from src.snapshots import predicted_class


def label(value):
    """A value as a figure shows it: 0.3 not 0.30000000000000004, 8 not 8.0."""
    if isinstance(value, float | np.floating):
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{float(value):.4g}"
    return str(value)


def use_log_scale(values):
    """Whether numeric values want a log axis: all positive, spanning a decade or more."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    return len(values) > 1 and (values > 0).all() and values.max() / values.min() >= 10


def _panels(n, width=4.2, height=3.4, ncols=None):
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def heatmap(panels, row_key, col_key, title):
    """Validation accuracy over two keys: panels is [(title, pivot rows × cols, notes or None)].

    notes: a DataFrame like pivot with the text for cells without a value (e.g. 'diverged').
    """
    fig, axes = _panels(len(panels), width=1.6 + 0.9 * max(p.shape[1] for _, p, _ in panels),
                        height=1.4 + 0.55 * max(p.shape[0] for _, p, _ in panels))
    finite = np.concatenate([p.to_numpy(dtype=float).ravel() for _, p, _ in panels])
    finite = finite[np.isfinite(finite)]
    vmin = min(0.5, float(finite.min())) if len(finite) else 0.5
    for ax, (name, pivot, notes) in zip(axes, panels, strict=True):
        values = pivot.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=vmin, vmax=1.0,
                          aspect="auto")
        ax.set_facecolor("#dddddd")
        for (i, j), v in np.ndenumerate(values):
            note = notes.iloc[i, j] if notes is not None else None
            text = f"{v:.3f}" if np.isfinite(v) else (note if isinstance(note, str) else "no run")
            dark = np.isfinite(v) and v < vmin + 0.6 * (1.0 - vmin)
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
        ax.set_xticks(range(values.shape[1]), [label(c) for c in pivot.columns])
        ax.set_yticks(range(values.shape[0]), [label(r) for r in pivot.index])
        ax.set(xlabel=col_key, ylabel=row_key)
        if name is not None:
            ax.set_title(name, fontsize=10)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="validation accuracy")
    fig.suptitle(textwrap.fill(title, 12 * fig.get_figwidth()), fontsize=9)
    return fig


def accuracy_against(panels, key, ylabel, title, lines=True):
    """Accuracy against a numeric key, one series per group.

    panels: [(panel title, {series label: DataFrame with columns x, y and optionally err})].
    """
    fig, axes = _panels(len(panels))
    xs = np.concatenate([s["x"].to_numpy(dtype=float) for _, series in panels
                         for s in series.values()])
    log = use_log_scale(xs)
    for ax, (name, series) in zip(axes, panels, strict=False):
        for i, (group, frame) in enumerate(series.items()):
            frame = frame.sort_values("x")
            err = frame["err"] if "err" in frame and frame["err"].notna().any() else None
            ax.errorbar(frame["x"], frame["y"], yerr=err, fmt="o-" if lines else "o",
                        color=COLORS[i % len(COLORS)], label=label(group), markersize=4,
                        capsize=3, alpha=0.9)
        if log:
            ax.set_xscale("log")
        ticks = np.unique(xs[np.isfinite(xs)])
        if len(ticks) <= 10:
            ax.set_xticks(ticks, [label(t) for t in ticks])
            ax.minorticks_off()
        ax.set(xlabel=key + (" (log scale)" if log else ""), ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if name is not None:
            ax.set_title(name, fontsize=10)
    fig.suptitle(title, fontsize=10)
    return fig


def learning_curves(panels, title):
    """Loss and accuracy per epoch, overlaid: panels is [(title, {label: history DataFrame})].

    A history has a `step` column and train_/val_ loss/accuracy columns; validation is drawn solid,
    training thin and dashed.
    """
    ncols = len(panels)
    fig = Figure(figsize=(4.2 * ncols, 6.2), layout="constrained")
    axes = fig.subplots(2, ncols, squeeze=False)
    for col, (name, curves) in enumerate(panels):
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row, col]
            for i, (group, history) in enumerate(curves.items()):
                color = COLORS[i % len(COLORS)]
                for split, style, width in (("val", "-", 1.5), ("train", "--", 0.8)):
                    column = f"{split}_{metric}"
                    if column in history and history[column].notna().any():
                        ax.plot(history["step"], history[column], style, color=color, lw=width,
                                label=group if split == "val" else None)
            ax.set(xlabel="epoch", ylabel=metric)
            if metric == "loss":
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(name or "", fontsize=10)
                ax.legend(fontsize=7, title="val solid, train dashed", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def _draw_boundary(ax, snap, frame=-1):
    """One decision boundary (a frame of a snapshots dict) with the training points on ax."""
    proba = snap["proba"][frame]
    x0, x1, X, y = snap["x0"], snap["x1"], snap["X"], snap["y"]
    if proba.shape[0] == 1:
        artist = ax.contourf(x0, x1, proba[0], levels=np.linspace(0, 1, 11), cmap="RdBu",
                             alpha=0.75)
        cmap, n = ListedColormap(["#d6604d", "#4393c3"]), 2  # the ends of RdBu
    else:
        n = proba.shape[0]
        cmap = ListedColormap(COLORS[:n])
        artist = ax.contourf(x0, x1, predicted_class(proba), levels=np.arange(n + 1) - 0.5,
                             cmap=cmap, alpha=0.35)
    if len(y):
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=n - 0.5, s=6,
                   edgecolors="k", linewidths=0.25)
    ax.set(xlim=(x0[0], x0[-1]), ylim=(x1[0], x1[-1]), xticks=[], yticks=[])
    return artist


def boundary_grid(panels, title, ncols=None):
    """Small decision-boundary panels: [(title, snapshots dict or None, note)], last frame each."""
    n = len(panels)
    ncols = ncols or min(n, 6)
    fig, axes = _panels(n, width=2.1, height=2.2, ncols=ncols)
    for ax, (name, snap, note) in zip(axes, panels, strict=False):
        if snap is not None and len(snap["proba"]) and np.isfinite(snap["proba"][-1]).all():
            _draw_boundary(ax, snap)
        else:
            ax.set(xticks=[], yticks=[])
            ax.text(0.5, 0.5, note or "no boundary", ha="center", va="center", fontsize=8,
                    transform=ax.transAxes, wrap=True)
        ax.set_title(textwrap.fill(name, 34), fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def boundary_animation(snap, path, title, fps=3, hold=4):
    """Write a GIF of a run's decision boundary at each recorded epoch (last frame held)."""
    frames = [i for i in range(len(snap["epochs"])) if np.isfinite(snap["proba"][i]).all()]
    if not frames:
        raise ValueError("no finite boundary to animate")
    fig = Figure(figsize=(4, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()

    def draw(i):
        """Frame i: the boundary at the i-th recorded epoch."""
        ax.clear()
        _draw_boundary(ax, snap, i)
        ax.set_title(f"{title}\nepoch {int(snap['epochs'][i])}", fontsize=9)
        return []

    sequence = frames + [frames[-1]] * hold
    animation = FuncAnimation(fig, draw, frames=sequence, blit=False, repeat=False)
    animation.save(path, writer=PillowWriter(fps=fps), dpi=80)
    return path
