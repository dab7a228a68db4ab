"""Datasets: scikit-learn's generators and bundled tables, and three classic 2-D teaching sets.

Every dataset is split the same way: a seeded, stratified train/validation/test split, then feature
standardisation fitted on the training part only. Nothing is downloaded. Knows nothing of Hydra.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


# ---------------------------------------------------------------- 2-D teaching sets
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


# ---------------------------------------------------------------- the table of datasets
@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: its generator (or loader) and default parameters."""

    function: object
    defaults: dict = field(default_factory=dict)
    generated: bool = True  # False: a bundled table (fixed rows, no n_samples)
    seeded_by: str = "random_state"  # how the function takes its seed: random_state, rng or None


GENERATED = {
    "moons": Source(skd.make_moons, {"n_samples": 500, "noise": 0.2}),
    "circles": Source(skd.make_circles, {"n_samples": 500, "noise": 0.1, "factor": 0.5}),
    "blobs": Source(
        skd.make_blobs, {"n_samples": 500, "n_features": 2, "centers": 3, "cluster_std": 1.0}
    ),
    "classification": Source(
        skd.make_classification,
        {"n_samples": 500, "n_features": 2, "n_informative": 2, "n_redundant": 0,
         "n_classes": 2, "n_clusters_per_class": 1, "class_sep": 1.0, "flip_y": 0.01},
    ),
    "gaussian_quantiles": Source(
        skd.make_gaussian_quantiles, {"n_samples": 500, "n_features": 2, "n_classes": 3}
    ),
    "flower": Source(make_flower, {"n_samples": 400, "noise": 0.2}, seeded_by="rng"),
    "xor": Source(make_xor, {"n_samples": 500, "noise": 0.1}, seeded_by="rng"),
    "spiral": Source(make_spiral, {"n_samples": 500, "noise": 0.1}, seeded_by="rng"),
}
TABLES = {
    "iris": Source(skd.load_iris, generated=False, seeded_by=None),
    "wine": Source(skd.load_wine, generated=False, seeded_by=None),
    "breast_cancer": Source(skd.load_breast_cancer, generated=False, seeded_by=None),
    "digits": Source(skd.load_digits, generated=False, seeded_by=None),
}
DATASETS = {**GENERATED, **TABLES}
# rows and classes of the bundled tables, so configs can be checked without loading them
TABLE_SHAPES = {"iris": (150, 3), "wine": (178, 3), "breast_cancer": (569, 2), "digits": (1797, 10)}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split, standardised dataset: X_* (m_*, n_features), y_* (m_*,) integer labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_features: int
    n_classes: int
    is_2d: bool
    params: dict  # what made it: generator, its parameters, split sizes and seed (for logging)
    mean: np.ndarray | None = None  # the standardisation fitted on the training part:
    scale: np.ndarray | None = None  # X_* = (raw − mean) / scale


def n_classes_of(name, params):
    """How many classes the named dataset has with these generator parameters."""
    if name in TABLE_SHAPES:
        return TABLE_SHAPES[name][1]
    if name == "blobs":
        centers = params.get("centers", 3)
        return centers if isinstance(centers, int) else len(centers)
    return params.get("n_classes", 2)


def split_sizes(n_samples, test_size, val_size):
    """(n_train, n_val, n_test) for fractions test_size and val_size of n_samples."""
    n_test = math.ceil(test_size * n_samples)
    n_val = math.ceil(val_size * n_samples)
    return n_samples - n_test - n_val, n_val, n_test


def check_split(n_samples, n_classes, test_size, val_size):
    """Raise ValueError unless every part of the split can hold every class at least once."""
    sizes = split_sizes(n_samples, test_size, val_size)
    if min(sizes) < n_classes:
        raise ValueError(
            f"{n_samples} samples split {sizes[0]}/{sizes[1]}/{sizes[2]} (train/val/test) leave "
            f"a part with fewer rows than the {n_classes} classes"
        )


def generate(name, seed, **params):
    """Raw (X (m, n_features), y (m,)) of the named dataset with params over its defaults."""
    source = DATASETS[name]
    if not source.generated:
        return source.function(return_X_y=True)
    kwargs = {**source.defaults, **params}
    if source.seeded_by == "rng":
        kwargs["rng"] = np.random.default_rng(seed)
    else:
        kwargs["random_state"] = seed
    X, y = source.function(**kwargs)
    return X, y


def load(name, seed=0, test_size=0.2, val_size=0.2, **params):
    """The named dataset, split train/val/test (stratified, seeded) and standardised on train.

    params override the generator's defaults (n_samples, noise, …); seed fixes generation and split.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {name!r}")
    source = DATASETS[name]
    if not source.generated and params:
        raise ValueError(f"{name} is a fixed table: it takes no {sorted(params)}")
    generate_seed, split_seed = np.random.SeedSequence(seed).generate_state(2)
    X, y = generate(name, int(generate_seed), **params)
    _, y = np.unique(y, return_inverse=True)
    n_classes = int(y.max()) + 1
    check_split(X.shape[0], n_classes, test_size, val_size)
    _, n_val, n_test = split_sizes(X.shape[0], test_size, val_size)
    split_rng = np.random.RandomState(int(split_seed))
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=n_test, stratify=y, random_state=split_rng
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=n_val, stratify=y_rest, random_state=split_rng
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))
    function = source.function
    module = function.__module__
    if module.startswith("sklearn"):
        module = "sklearn.datasets"
    return Dataset(
        name=name,
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test,
        n_features=X.shape[1], n_classes=n_classes, is_2d=X.shape[1] == 2,
        mean=scaler.mean_, scale=scaler.scale_,
        params={
            "generator": f"{module}.{function.__name__}",
            **({**source.defaults, **params} if source.generated else {}),
            "rows": X.shape[0], "test_size": test_size, "val_size": val_size, "seed": seed,
        },
    )
