"""Pictures of a run: learning curves, the decision boundary over 2-D data, a confusion matrix.

Figures are built with matplotlib's object API (no pyplot state, Agg when saved), at a modest size.
"""

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]


def learning_curves(history, title=None, max_points=400):
    """Loss and accuracy per epoch, train and validation; history maps names to lists.

    Long curves are drawn through at most max_points evenly spaced epochs (the last one included):
    at this size the picture is the same and it renders in a fraction of the time.
    """
    fig = Figure(figsize=(8, 3.2))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.88 if title else 0.95,
                        wspace=0.25)
    n = len(history["train_loss"])
    epochs = np.asarray(history.get("epoch") or range(1, n + 1))
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            values = np.asarray(history.get(f"{split}_{metric}") or [], dtype=float)
            if len(values):
                points = min(len(values), max_points)
                keep = np.unique(np.linspace(0, len(values) - 1, points).astype(int))
                ax.plot(epochs[keep], values[keep], style, label=split)
        ax.set(xlabel="epoch", ylabel=metric)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def decision_boundary(predict, X, y, title=None, resolution=200):
    """The classes predict() gives over the plane around 2-D data X, points coloured by y."""
    X, y = np.asarray(X), np.asarray(y)
    classes = np.unique(y)
    pad = 0.5
    (x0, y0), (x1, y1) = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    zz = predict(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    index = np.searchsorted(classes, zz)
    cmap = ListedColormap(COLORS[: len(classes)])
    fig = Figure(figsize=(4.5, 4))
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.92)
    ax = fig.subplots()
    ax.contourf(xx, yy, index, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(classes, y), cmap=cmap, s=10,
               edgecolors="k", linewidths=0.3, vmin=-0.5, vmax=len(classes) - 0.5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x1", ylabel="x2")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def confusion_matrix(y_true, y_pred, title=None):
    """Counts of true against predicted classes."""
    fig = Figure(figsize=(4.5, 4), layout="constrained")
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=ax, colorbar=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
