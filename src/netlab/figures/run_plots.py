"""A run's own plots, drawn with Pillow (the harness draws them for every job, so they must be
cheap): learning curves, the decision boundary, the confusion matrix, the hidden units' tiles, and
the boundary at each recorded epoch (as images for MLflow's step slider, or a GIF).

Each function returns a PIL image; save_png() writes one. Nothing here knows MLflow.
"""

import functools

import numpy as np
from PIL import Image, ImageDraw

from netlab.snapshots import predicted_class

from . import raster
from .raster import FAINT, INK, SUPERSAMPLE, canvas, finish, fit, text
from .style import class_rgb, rgb

TRAIN, VAL = rgb("#9ecae1"), rgb("#08519c")


PNG_LEVEL = 3  # zlib level: on these flat-coloured plots as fast as level 1, and ~15 % smaller


def save_png(image, path):
    """Write a PIL image as PNG (zlib level PNG_LEVEL) — fits RunLogger.add_file's write(path)."""
    image.save(path, format="PNG", compress_level=PNG_LEVEL)


def learning_curves(history, title=None, max_points=400):
    """Loss and accuracy per epoch, train (light) and validation (dark); history maps names to
    lists (epoch, train_loss, val_loss, train_accuracy, val_accuracy). 820 × 330 px."""
    s = SUPERSAMPLE
    n = len(history.get("train_loss") or [])
    epochs = np.asarray(history.get("epoch") or range(1, n + 1), dtype=float)
    keep = np.unique(np.linspace(0, max(n - 1, 0), min(n, max_points)).astype(int)) if n else []
    image, draw = canvas(820, 330)
    top = 28 * s if title else 4 * s
    if title:
        text(draw, (410 * s, 6 * s), fit(title, 13, 800 * s), 13, "ma")
    for i, metric in enumerate(("loss", "accuracy")):
        series = []
        for split, colour, width in (("train", TRAIN, 2), ("val", VAL, 2)):
            values = np.asarray(history.get(f"{split}_{metric}") or [], dtype=float)
            if len(values):
                series.append((split, epochs[keep], values[keep], colour, width))
        values = np.concatenate([v for _, _, v, _, _ in series] or [np.zeros(0)])
        values = values[np.isfinite(values)]
        log_y = (metric == "loss" and len(values) > 1 and (values > 0).all()
                 and values.max() / values.min() >= 10)
        box = (i * 410 * s, top, (i + 1) * 410 * s, 330 * s)
        raster.line_chart(draw, box, series, xlabel="epoch", ylabel=metric, log_y=log_y)
    return finish(image)


BANDS = 10  # the plane is coloured in bands of P(class 1) 0.1 wide, like a filled contour plot


def plane_rgb(proba):
    """One boundary frame (n_out, r, r) -> RGB (r, r, 3) in bands: P(class 1) for two classes, else
    the likeliest class, paler where less sure (the classes' colours of netlab.figures.style)."""
    proba = np.nan_to_num(np.asarray(proba, np.float32), nan=0.5)
    if proba.shape[0] == 1:
        return _bands_rgb(proba[0])
    return _likeliest_rgb(proba.argmax(axis=0), proba.max(axis=0), proba.shape[0])


def _bands_rgb(p):
    """P(class 1) (…) -> RGB (…, 3) in BANDS bands."""
    band = np.clip((p * BANDS).astype(int), 0, BANDS - 1)
    return raster.probability_rgb((np.arange(BANDS) + 0.5) / BANDS)[band]


def _likeliest_rgb(best, most, k):
    """The likeliest of k classes (…) and its probability (…) -> RGB (…, 3): its colour at one of
    4 levels of sureness."""
    level = np.clip((raster.sureness(most, k) * 4).astype(int), 0, 3)
    return _shades(k)[best, level]


@functools.lru_cache(maxsize=16)
def _shades(k):
    """(k, 4, 3) uint8: each of k classes' colour at plane_rgb's 4 levels of sureness, as
    raster.classes_rgb colours a frame that sure of it (its likeliest class at t + (1 − t)/k, the
    others at (1 − t)/k, t = 1/8, 3/8, 5/8, 7/8): built once per k, in O(k)."""
    t = (np.arange(4) + 0.5) / 4
    most = t.astype(np.float32) + ((1 - t) / k).astype(np.float32)
    colours = class_rgb(k).astype(np.float32)
    shades = raster.tinted(colours[:, None, :], raster.sureness(most, k)[None, :])
    shades.flags.writeable = False
    return shades


def plane_image(proba, size):
    """One boundary frame (n_out, r, r) as an RGB array (size, size, 3), row 0 at the top: the
    probabilities smoothly resampled, then coloured in bands, the boundary drawn as a dark line.
    Classes are resampled one at a time, keeping the likeliest so far and its probability: one
    plane of size² in memory, not one per class."""
    proba = np.nan_to_num(np.asarray(proba, np.float32), nan=0.5)

    def resampled(p):
        image = Image.fromarray(np.ascontiguousarray(p[::-1]), "F")
        return np.asarray(image.resize((size, size), Image.BILINEAR))

    if proba.shape[0] == 1:
        p = resampled(proba[0])
        pixels, classes = _bands_rgb(p), predicted_class(p[None])
    else:
        most, classes = resampled(proba[0]), np.zeros((size, size), int)
        for c in range(1, proba.shape[0]):
            p = resampled(proba[c])
            classes[p > most] = c  # a tie keeps the lower class, as argmax (predicted_class) does
            most = np.maximum(most, p)
        pixels = _likeliest_rgb(classes, most, proba.shape[0])
    edge = np.zeros(classes.shape, bool)
    edge[1:, :] |= classes[1:, :] != classes[:-1, :]
    edge[:, 1:] |= classes[:, 1:] != classes[:, :-1]
    pixels[edge] = INK
    return pixels


def _plane(x0, x1, proba, size):
    """The plane as a (size·SUPERSAMPLE)² image (see plane_image)."""
    side = size * SUPERSAMPLE
    return Image.fromarray(plane_image(proba, size)).resize((side, side), Image.NEAREST)


def _points(draw, origin, side, x0, x1, X, y, radius=3):
    """Scatter points X (m, 2) coloured by class y over a plane drawn at origin with side pixels."""
    if X is None or y is None or not len(y):
        return
    X, y = np.asarray(X, float), np.asarray(y).astype(int)
    u = origin[0] + (X[:, 0] - x0[0]) / (x0[-1] - x0[0]) * side
    v = origin[1] + (x1[-1] - X[:, 1]) / (x1[-1] - x1[0]) * side
    inside = (u >= origin[0]) & (u <= origin[0] + side) & (v >= origin[1]) & (v <= origin[1] + side)
    colours = class_rgb(int(y.max()) + 1)
    r = radius * SUPERSAMPLE
    for a, b, c in zip(u[inside].tolist(), v[inside].tolist(), y[inside].tolist(), strict=True):
        draw.ellipse([a - r, b - r, a + r, b + r], fill=tuple(colours[c].tolist()), outline=INK,
                     width=1)


def points_layer(x0, x1, X, y, size):
    """The points X (m, 2) coloured by class y, on a transparent layer over a size × size px plane
    of grid x0, x1 (supersampled): drawn once, laid over each frame of a run."""
    s = SUPERSAMPLE
    layer = Image.new("RGBA", (size * s, size * s), (0, 0, 0, 0))
    _points(ImageDraw.Draw(layer), (0, 0), size * s, x0, x1, X, y, radius=3 if size >= 300 else 2)
    return layer


def boundary_image(x0, x1, proba, X=None, y=None, title=None, size=360, points=None):
    """The decision boundary from a recorded grid: x0 (r,), x1 (r,), proba (n_out, r, r), with the
    points X (m, 2) coloured by their class index y (or `points`, their points_layer); a title
    strip on top. size × size px plane."""
    s = SUPERSAMPLE
    head = 26 if title else 0
    image, draw = canvas(size, size + head)
    image.paste(_plane(x0, x1, proba, size), (0, head * s))
    points = points_layer(x0, x1, X, y, size) if points is None else points
    image.paste(points, (0, head * s), points)  # only the points' own pixels
    if title:
        text(draw, (size * s / 2, 5 * s), fit(title, 12, (size - 6) * s), 12, "ma")
    return finish(image)


def decision_boundary(x0, x1, proba, X, y, title=None):
    """A run's decision boundary (the final frame of its snapshots), all its points on it."""
    return boundary_image(x0, x1, proba, X, y, title, size=400)


NUMBERED = 30  # classes up to which each cell of a confusion matrix is drawn with its count
HEATMAP = 840  # px: the side a confusion matrix of more classes is drawn at, as a heatmap


def confusion_matrix(y_true, y_pred, labels=None, title=None):
    """Counts of true (rows) against predicted (columns) classes, shaded by each row's share;
    beyond NUMBERED classes only the shading, HEATMAP px a side whatever the classes."""
    s = SUPERSAMPLE
    labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)])) \
        if labels is None else np.asarray(labels)
    k = len(labels)
    index = {value: i for i, value in enumerate(labels.tolist())}
    counts = np.zeros((k, k), int)
    for t, p in zip(np.asarray(y_true).tolist(), np.asarray(y_pred).tolist(), strict=True):
        counts[index[t], index[p]] += 1
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    if k > NUMBERED:
        return _share_heatmap(share, labels, title)
    cell = max(28, min(70, 420 // k))
    left, top = 70, 34 if title else 10
    image, draw = canvas(left + k * cell + 12, top + k * cell + 52)
    for (i, j), n in np.ndenumerate(counts):
        shade = tuple(int(255 - (255 - c) * share[i, j]) for c in rgb("#0072B2"))
        box = [(left + j * cell) * s, (top + i * cell) * s, (left + (j + 1) * cell) * s,
               (top + (i + 1) * cell) * s]
        draw.rectangle(box, fill=shade, outline=(255, 255, 255), width=s)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        text(draw, centre, str(n), 11 if k < 8 else 9, "mm",
             fill="white" if share[i, j] > 0.55 else INK)
    for i, value in enumerate(labels.tolist()):
        text(draw, ((left - 6) * s, (top + (i + 0.5) * cell) * s), str(value), 10, "rm")
        text(draw, ((left + (i + 0.5) * cell) * s, (top + k * cell + 4) * s), str(value), 10, "ma")
    _matrix_captions(draw, left, top, k * cell, title)
    return finish(image)


def _share_heatmap(share, labels, title):
    """A confusion matrix of many classes: each row's shares (k, k) as shades, in HEATMAP px (a
    cell a whole number of px, or classes averaged in blocks past HEATMAP), ~8 classes named."""
    s = SUPERSAMPLE
    k = len(labels)
    side = HEATMAP if k > HEATMAP else k * (HEATMAP // k)
    left, top = 70, 34 if title else 10
    image, draw = canvas(left + side + 12, top + side + 52)
    shades = (255 - (255 - np.asarray(rgb("#0072B2"), float)) * share[..., None]).astype(np.uint8)
    heat = Image.fromarray(shades).resize((side * s, side * s),
                                          Image.NEAREST if k <= side else Image.BOX)
    image.paste(heat, (left * s, top * s))
    for i in np.unique(np.linspace(0, k - 1, 8).round().astype(int)).tolist():
        at = (i + 0.5) * side / k
        text(draw, ((left - 6) * s, (top + at) * s), str(labels[i]), 10, "rm")
        text(draw, ((left + at) * s, (top + side + 4) * s), str(labels[i]), 10, "ma")
    _matrix_captions(draw, left, top, side, title)
    return finish(image)


def _matrix_captions(draw, left, top, side, title):
    """A confusion matrix's axis names and title around its side × side px of cells."""
    s = SUPERSAMPLE
    text(draw, ((left + side / 2) * s, (top + side + 34) * s), "predicted", 11, "ma")
    text(draw, (4 * s, (top + side / 2) * s), "true", 11, "lm")
    if title:
        width = left + side + 12
        text(draw, (width * s / 2, 6 * s), fit(title, 12, (width - 6) * s), 12, "ma")


def hidden_activations(network, points):
    """Each hidden layer's activations A[1], …, A[L-1] (n[l], m) at points (m, 2), for a network
    that is a stack of one (a run's network)."""
    from netlab.nn import ACTIVATIONS  # imported when needed: netlab.nn brings scikit-learn

    A = np.asarray(points, dtype=network.dtype).T
    layers = []
    forward = ACTIVATIONS[network.activation].forward
    for l in range(1, network.L):
        A = forward(network.W[l][0] @ A + network.b[l][0])  # A[l] = g(W[l] A[l-1] + b[l])
        layers.append(A)
    return layers


def unit_rgb(values, activation):
    """A unit's activations over the plane -> RGB in bands: 0 white (sigmoid: 0.5), the classes'
    colours for the two signs; bounded activations on their own scale, others on the tile's largest.
    """
    values = np.asarray(values, np.float32)
    if activation == "sigmoid":
        share = values
    else:
        scale = 1.0 if activation == "tanh" else float(np.abs(values).max()) or 1.0
        share = 0.5 + 0.5 * values / scale
    bands = BANDS + 1  # an odd number: the middle band, around 0, is white
    band = np.clip((share * bands).astype(int), 0, bands - 1)
    return raster.probability_rgb((np.arange(bands) + 0.5) / bands)[band]


def _tile(values, activation, tile):
    """A unit's activations (r, r) as a banded tile of tile × tile final pixels (supersampled)."""
    smooth = Image.fromarray(np.ascontiguousarray(values[::-1], np.float32), "F")
    smooth = np.asarray(smooth.resize((tile, tile), Image.BILINEAR))
    side = tile * SUPERSAMPLE
    return Image.fromarray(unit_rgb(smooth, activation)).resize((side, side), Image.NEAREST)


def grid_around(X, resolution=64, pad=0.5):
    """(x0 (r,), x1 (r,), points (r·r, 2)): a square grid around 2-D points X."""
    X = np.asarray(X, float)
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    x0, x1 = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    g0, g1 = np.meshgrid(x0, x1)
    return x0, x1, np.column_stack([g0.ravel(), g1.ravel()])


def hidden_units(network, X, y=None, title=None, tile=96, max_units=16):
    """What each hidden unit computes over the plane around X (m, 2): one row of tiles per hidden
    layer (its activation as colour), then the output with the points. None without hidden layers.
    """
    if network.L < 2:
        return None
    s = SUPERSAMPLE
    x0, x1, points = grid_around(X)
    r = len(x0)
    layers = hidden_activations(network, points)
    output = network.predict_proba(points.T.astype(network.dtype))[0]
    columns = min(max(n.shape[0] for n in layers), max_units)
    left, gap, head = 62, 6, 26 if title else 4
    rows = len(layers) + 1
    width = left + columns * (tile + gap)
    image, draw = canvas(max(width, left + 2 * tile + gap), head + rows * (tile + 18))
    if title:
        text(draw, (width * s / 2, 5 * s), fit(title, 12, (width - 6) * s), 12, "ma")
    for row, A in enumerate([*layers, None]):
        top = head + row * (tile + 18) + 14
        name = f"layer {row + 1}" if A is not None else "output"
        text(draw, (4 * s, (top + tile / 2) * s), name, 11, "lm")
        units = [] if A is None else A[:columns]
        for j, values in enumerate(units):
            origin = ((left + j * (tile + gap)) * s, top * s)
            image.paste(_tile(values.reshape(r, r), network.activation, tile), origin)
            text(draw, (origin[0] + tile * s / 2, origin[1] - 2 * s), f"unit {j + 1}", 9, "md",
                 fill=FAINT)
        if A is not None and A.shape[0] > columns:
            text(draw, ((left + columns * (tile + gap)) * s, (top + tile / 2) * s),
                 f"+{A.shape[0] - columns}", 10, "lm")
        if A is None:
            origin = (left * s, top * s)
            image.paste(_plane(x0, x1, output.reshape(-1, r, r), tile), origin)
            _points(draw, origin, tile * s, x0, x1, X, y, radius=1)
    return finish(image)


def snapshot_images(snap, title=None, size=160, colors=32):
    """[(epoch, PIL image)] of a snapshots dict's finite frames (netlab.snapshots.load), each titled
    with its epoch: what `mlflow.log_image(image, key=…, step=epoch)` shows with its step slider.
    Reduced to a palette of `colors`: the bands need few, and a palette image compresses well."""
    images, points = [], points_layer(snap["x0"], snap["x1"], snap["X"], snap["y"], size)
    for epoch, proba in zip(snap["epochs"].tolist(), snap["proba"], strict=True):
        if not np.isfinite(proba).all():
            continue
        name = f"{title} · epoch {epoch}" if title else f"epoch {epoch}"
        image = boundary_image(snap["x0"], snap["x1"], proba, title=name, size=size,
                               points=points)
        if colors:
            image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
        images.append((int(epoch), image))
    return images


def boundary_gif(snap, path, title, fps=3, hold=4, size=360):
    """Write a GIF of a run's decision boundary at each recorded epoch (the last held longer)."""
    frames = snapshot_images(snap, title, size, colors=None)
    if not frames:
        raise ValueError("no finite boundary to animate")
    images = [image for _, image in frames]
    durations = [int(1000 / fps)] * (len(images) - 1) + [int(1000 / fps) * (hold + 1)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=False)
    return path


