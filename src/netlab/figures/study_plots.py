"""A study's figures, drawn with matplotlib's object API (Figure, no pyplot state) so they can be
saved as PNG, SVG or PDF: a score over two keys (heatmap), a score against a key with its confidence
band, mean learning curves with their band, a quantity per layer against epochs, grids of decision
boundaries and of hidden units. Inputs are plain tables and arrays; netlab.report and netlab.compare
choose what to draw.
"""

import math
import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .run_plots import plane_image
from .style import FONT, class_rgb, label, series_color, set_scale

MARGINS = {"left": 0.95, "right": 0.25, "bottom": 0.65, "top": 0.8, "wspace": 0.95,
           "hspace": 1.05}  # inches: room for tick labels, axis labels, titles


def grid(nrows, ncols, width, height, **margins):
    """A Figure of nrows × ncols axes, each panel width × height inches with its margins, laid
    out by hand (a layout engine measures every label first, doubling the drawing time)."""
    m = {**MARGINS, **margins}
    fig = Figure(figsize=(width * ncols, height * nrows + m["top"] - 0.5))
    W, H = fig.get_size_inches()
    axis_w = (W - m["left"] - m["right"] - (ncols - 1) * m["wspace"]) / ncols
    axis_h = (H - m["top"] - m["bottom"] - (nrows - 1) * m["hspace"]) / nrows
    fig.subplots_adjust(left=m["left"] / W, right=1 - m["right"] / W, bottom=m["bottom"] / H,
                        top=1 - m["top"] / H, wspace=m["wspace"] / axis_w,
                        hspace=m["hspace"] / axis_h)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def panels(n, width=5.0, height=4.0, ncols=None, **margins):
    """A Figure with n axes in rows of ncols (default: up to 3, four as 2 × 2); (fig, axes)."""
    ncols = max(1, min(ncols or (2 if n == 4 else 3), n))
    fig, axes = grid(math.ceil(n / ncols), ncols, width, height, **margins)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _title(fig, title, width_chars=None):
    height = fig.get_figheight()
    fig.suptitle(textwrap.fill(title, width_chars or int(14 * fig.get_figwidth())),
                 fontsize=FONT["title"], y=1 - 0.1 / height, va="top")


def _finish_axes(ax, xlabel, ylabel, name):
    ax.set_xlabel(xlabel, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.grid(alpha=0.3)
    if name is not None:
        ax.set_title(name, fontsize=FONT["panel"])


def heatmap(cells, row_key, col_key, title, what="validation accuracy"):
    """A score over two keys: cells is [(panel title, mean pivot, half-width pivot or None, notes)].

    Each cell shows the mean and, below it, its 95 % interval [low, high]; a cell without a
    value shows its note (e.g. 'diverged') or 'no run'.
    """
    rows = max(p.shape[0] for _, p, _, _ in cells)
    cols = max(p.shape[1] for _, p, _, _ in cells)
    fig, axes = panels(len(cells), width=2.2 + 1.15 * cols, height=1.8 + 0.8 * rows,
                       right=1.3)
    finite = np.concatenate([p.to_numpy(dtype=float).ravel() for _, p, _, _ in cells])
    finite = finite[np.isfinite(finite)]
    vmin = min(0.5, float(finite.min())) if len(finite) else 0.5
    image = None
    for ax, (name, mean, half, notes) in zip(axes, cells, strict=True):
        values = mean.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=vmin, vmax=1.0,
                          aspect="auto")
        ax.set_facecolor("#dddddd")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                h = half.iloc[i, j] if half is not None else math.nan
                text = f"{v:.3f}" + (f"\n[{v - h:.3f}, {v + h:.3f}]" if np.isfinite(h) else "")
            else:
                note = notes.iloc[i, j] if notes is not None else None
                text = note if isinstance(note, str) else "no run"
            dark = np.isfinite(v) and v > vmin + 0.6 * (1 - vmin)
            ax.text(j, i, text, ha="center", va="center", fontsize=FONT["cell"],
                    color="black" if dark or not np.isfinite(v) else "white")
        ax.set_xticks(range(values.shape[1]), [label(c) for c in mean.columns])
        ax.set_yticks(range(values.shape[0]), [label(r) for r in mean.index])
        _finish_axes(ax, col_key, row_key, name)
        ax.grid(False)
    W = fig.get_figwidth()
    bar = fig.add_axes((1 - 0.95 / W, 0.15, 0.18 / W, 0.65))
    fig.colorbar(image, cax=bar).set_label(what, fontsize=FONT["label"])
    _title(fig, title)
    return fig


def against(cells, key, ylabel, title, points=False, log_y=(), lines=None):
    """A score against a numeric key with its 95 % interval as a band, one line per series.

    cells: [(panel title, {series label: DataFrame with x, y and optionally low, high})]. The x
    axis is log-scaled when the values span a decade, symlog when they also include 0.
    ylabel: one label, or one per panel; log_y: the panels (by index) with a log y axis;
    lines: {panel index: (y, label)} for a dashed reference line (e.g. chance).
    points: draw each row as a dot, unconnected (runs that do not form a grid).
    """
    fig, axes = panels(len(cells))
    xs = np.concatenate([s["x"].to_numpy(dtype=float) for _, series in cells
                         for s in series.values()] or [np.zeros(0)])
    for index, (ax, (name, series)) in enumerate(zip(axes, cells, strict=True)):
        for i, (group, frame) in enumerate(series.items()):
            frame = frame.sort_values("x")
            colour = series_color(group, i)
            ax.plot(frame["x"], frame["y"], "o" if points else "o-", color=colour,
                    label=label(group), markersize=5, lw=1.8, alpha=0.9)
            if {"low", "high"} <= set(frame) and frame["low"].notna().any():
                ax.fill_between(frame["x"], frame["low"], frame["high"], color=colour, alpha=0.18,
                                lw=0)
        scale = set_scale(ax, xs)
        if index in log_y:
            ax.set_yscale("log")
        if lines and index in lines:
            ax.axhline(lines[index][0], color="0.4", ls="--", lw=1, label=lines[index][1])
        ticks = np.unique(xs[np.isfinite(xs)])
        if len(ticks) <= 10:
            ax.set_xticks(ticks, [label(t) for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
        text = ylabel if isinstance(ylabel, str) else ylabel[index]
        _finish_axes(ax, key + ("" if scale == "linear" else f" ({scale} scale)"), text, name)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=FONT["legend"])
    _title(fig, title)
    return fig


def profiles(series, xlabel, title):
    """Performance profiles: per series the fraction of runs above each threshold, a step line
    with its band. series: {label: DataFrame with x (threshold), y, low, high}."""
    fig, (ax,) = panels(1, width=6.5, height=4.2)
    for i, (group, frame) in enumerate(series.items()):
        colour = series_color(group, i)
        ax.step(frame["x"], frame["y"], where="post", color=colour, label=label(group), lw=1.8)
        if frame["low"].notna().any():
            ax.fill_between(frame["x"], frame["low"], frame["high"], step="post", color=colour,
                            alpha=0.15, lw=0)
    ax.set_ylim(-0.02, 1.02)
    _finish_axes(ax, xlabel, "fraction of runs above", None)
    ax.legend(fontsize=FONT["legend"])
    _title(fig, title)
    return fig


def mean_curves(cells, title):
    """Loss and accuracy per epoch, mean over seeds with the 95 % band (validation) and the mean
    (training, thin dashed). cells: [(panel title, {label: DataFrame with step, and per split and
    metric <split>_<metric>_mean, _low, _high})]."""
    fig, axes = grid(2, len(cells), 5.4, 3.9)
    for col, (name, curves) in enumerate(cells):
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row, col]
            for i, (group, frame) in enumerate(curves.items()):
                colour = series_color(group.split(" ")[0].split("=")[-1], i)
                mean = frame.get(f"val_{metric}_mean")
                if mean is not None and mean.notna().any():
                    ax.plot(frame["step"], mean, "-", color=colour, lw=1.8, label=group)
                    low, high = frame[f"val_{metric}_low"], frame[f"val_{metric}_high"]
                    if low.notna().any():
                        ax.fill_between(frame["step"], low, high, color=colour, alpha=0.18, lw=0)
                train = frame.get(f"train_{metric}_mean")
                if train is not None and train.notna().any():
                    ax.plot(frame["step"], train, "--", color=colour, lw=0.9)
            if metric == "loss":
                ax.set_yscale("log")
            _finish_axes(ax, "epoch", metric, name if row == 0 else None)
            if row == 0 and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=FONT["legend"], title="validation solid, training dashed",
                          title_fontsize=FONT["legend"])
    _title(fig, title)
    return fig


def per_layer(cells, ylabel, title, log=True):
    """A quantity per layer against epochs (e.g. the gradient norm), mean over seeds with its band.

    cells: [(panel title, {layer label: DataFrame with step, mean, low, high})].
    """
    fig, axes = panels(len(cells), width=5.2, height=4.2)
    for ax, (name, layers) in zip(axes, cells, strict=True):
        shades = np.linspace(0.15, 0.85, max(len(layers), 2))
        for shade, (layer, frame) in zip(shades, layers.items(), strict=False):
            colour = (shade, 0.3 * shade, 1 - shade)  # first layer blue, last red
            ax.plot(frame["step"], frame["mean"], color=colour, lw=1.6, label=layer)
            if frame["low"].notna().any():
                ax.fill_between(frame["step"], frame["low"], frame["high"], color=colour,
                                alpha=0.15, lw=0)
        if log:
            ax.set_yscale("log")
        _finish_axes(ax, "epoch", ylabel, name)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=FONT["legend"])
    _title(fig, title)
    return fig


def draw_boundary(ax, snap, frame=-1, resolution=240):
    """One decision boundary (a frame of a snapshots dict) with its training points, on ax."""
    proba, x0, x1 = snap["proba"][frame], snap["x0"], snap["x1"]
    ax.imshow(plane_image(proba, resolution), extent=(x0[0], x0[-1], x1[0], x1[-1]),
              interpolation="nearest", aspect="auto")
    y = np.asarray(snap["y"]).astype(int)
    if len(y):
        colours = class_rgb(int(y.max()) + 1) / 255
        ax.scatter(snap["X"][:, 0], snap["X"][:, 1], c=colours[y], s=9, edgecolors="k",
                   linewidths=0.3)
    ax.set(xlim=(x0[0], x0[-1]), ylim=(x1[0], x1[-1]), xticks=[], yticks=[])


def boundary_grid(cells, title, ncols=None):
    """Decision-boundary panels: [(title, snapshots dict or None, note)], the last frame of each.

    Laid out by hand (square panels under two-line titles): a layout engine over dozens of
    panels costs seconds.
    """
    n = len(cells)
    ncols = max(1, min(ncols or 5, n))
    nrows = math.ceil(n / ncols)
    side, head, top, gap = (3.0, 0.5, 0.5, 0.12) if n <= 12 else (2.3, 0.45, 0.45, 0.1)
    width, height = ncols * (side + gap) + gap, nrows * (side + head) + top
    fig = Figure(figsize=(width, height))
    axes = []
    for i in range(n):
        row, col = divmod(i, ncols)
        left = (gap + col * (side + gap)) / width
        bottom = 1 - (top + row * (side + head) + head + side) / height
        axes.append(fig.add_axes((left, bottom, side / width, side / height)))
    resolution = 240 if n <= 12 else 150
    for ax, (name, snap, note) in zip(axes, cells, strict=True):
        if snap is not None and len(snap["proba"]) and np.isfinite(snap["proba"][-1]).all():
            draw_boundary(ax, snap, resolution=resolution)
        else:
            ax.set(xticks=[], yticks=[])
            ax.text(0.5, 0.5, textwrap.fill(note or "no boundary", 24), ha="center",
                    va="center", fontsize=FONT["cell"], transform=ax.transAxes)
        ax.set_title(name, fontsize=FONT["legend"] if n <= 12 else FONT["legend"] - 1)
    fig.suptitle(title, fontsize=FONT["title"], y=1 - 0.12 / height, va="top")
    return fig


def image_rows(rows, title, dpi=100):
    """Images (e.g. each configuration's hidden-unit tiles) stacked in one figure: [(title, PIL)],
    one image pixel per output pixel when saved at `dpi`."""
    width = max(image.width for _, image in rows) / dpi
    heights = [image.height / dpi + 0.35 for _, image in rows]
    fig = Figure(figsize=(width + 0.2, sum(heights) + 0.5))
    fig.subplots_adjust(left=0.1 / (width + 0.2), right=1 - 0.1 / (width + 0.2), bottom=0.02,
                        top=1 - 0.5 / (sum(heights) + 0.5), hspace=0.35 / np.mean(heights))
    axes = fig.subplots(len(rows), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (name, image) in zip(axes, rows, strict=True):
        ax.imshow(np.asarray(image), interpolation="none")
        ax.set_axis_off()
        ax.set_title(name, fontsize=FONT["panel"], loc="left")
    _title(fig, title)
    return fig
