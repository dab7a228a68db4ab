"""The generated datasets: scikit-learn's generators and three classic 2-D teaching sets (the planar
flower, TensorFlow Playground's xor and spiral), with their default parameters. Each takes a seed
and n_samples; the teaching sets are written here, scikit-learn's are named (sources.Sklearn)."""

import numpy as np

from netlab.data.sources import Sklearn, Source


def make_flower(n_samples=400, noise=0.2, rng=None):
    """The 'planar' flower: an eight-petal rose, petals alternating between 2 classes.

    Returns X (2·(n_samples // 2), 2) and y of the same length.
    """
    rng = np.random.default_rng(rng)
    N, a = n_samples // 2, 4
    X, y = [], []
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + noise * rng.standard_normal(N)
        r = a * np.sin(4 * t) + noise * rng.standard_normal(N)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(N, j))
    return np.vstack(X), np.concatenate(y)


def make_xor(n_samples=500, noise=0.1, rng=None):
    """TensorFlow Playground's xor: the sign of x·y, labels flipped near the axes by noise.

    Returns X (n_samples, 2) and y (n_samples,).
    """
    rng = np.random.default_rng(rng)
    X = rng.uniform(-5, 5, (n_samples, 2))
    X += np.where(X > 0, 0.3, -0.3)  # padding: push points away from the axes
    shifted = X + noise * rng.uniform(-5, 5, (n_samples, 2))
    y = (shifted[:, 0] * shifted[:, 1] >= 0).astype(int)
    return X, y


def make_spiral(n_samples=500, noise=0.1, rng=None):
    """TensorFlow Playground's two interleaved spiral arms.

    Returns X (2·(n_samples // 2), 2) and y of the same length.
    """
    rng = np.random.default_rng(rng)
    N = n_samples // 2
    i = np.arange(N)
    X, y = [], []
    for j in range(2):
        r = 5 * i / N
        t = 1.75 * i / N * 2 * np.pi + j * np.pi
        x1 = r * np.sin(t) + noise * rng.uniform(-1, 1, N)
        x2 = r * np.cos(t) + noise * rng.uniform(-1, 1, N)
        X.append(np.column_stack([x1, x2]))
        y.append(np.full(N, j))
    return np.vstack(X), np.concatenate(y)


def _pairs(n_samples):
    return 2 * (n_samples // 2)


GENERATED = {
    "moons": Source(Sklearn("make_moons"), {"n_samples": 500, "noise": 0.2}),
    "circles": Source(Sklearn("make_circles"), {"n_samples": 500, "noise": 0.1, "factor": 0.5}),
    "blobs": Source(Sklearn("make_blobs"),
                    {"n_samples": 500, "n_features": 2, "centers": 3, "cluster_std": 1.0}),
    "classification": Source(
        Sklearn("make_classification"),
        {"n_samples": 500, "n_features": 2, "n_informative": 2, "n_redundant": 0,
         "n_classes": 2, "n_clusters_per_class": 1, "class_sep": 1.0, "flip_y": 0.01},
    ),
    "gaussian_quantiles": Source(
        Sklearn("make_gaussian_quantiles"), {"n_samples": 500, "n_features": 2, "n_classes": 3}
    ),
    "flower": Source(make_flower, {"n_samples": 400, "noise": 0.2}, seeded_by="rng", rows=_pairs),
    "xor": Source(make_xor, {"n_samples": 500, "noise": 0.1}, seeded_by="rng"),
    "spiral": Source(make_spiral, {"n_samples": 500, "noise": 0.1}, seeded_by="rng", rows=_pairs),
}


def n_classes_of(name, params):
    """How many classes the named generated dataset makes with these parameters."""
    if name == "blobs":
        centers = params.get("centers", 3)
        return centers if isinstance(centers, int) else len(centers)
    return params.get("n_classes", 2)
