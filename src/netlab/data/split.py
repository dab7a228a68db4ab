"""The one split every dataset gets, and its standardisation: a seeded, stratified train /
validation / test split (scikit-learn's), then features standardised with a scaler fitted on the
training part only. Also what the split guarantees, checked before anything is loaded: its sizes,
the rows each class surely gets in each part, and labels of any type made 0..k−1 in sorted order."""

import math

import numpy as np

from netlab.data.errors import DatasetError


def encode_labels(labels, key, value, file):
    """(sorted classes, labels as 0..k−1) of labels of any type; at least two classes."""
    try:
        classes, y = np.unique(labels, return_inverse=True)
    except TypeError:  # mixed types (numbers and text): compare them as text
        classes, y = np.unique(labels.astype(str), return_inverse=True)
    if len(classes) < 2:
        only = f" ({classes[0]!r})" if len(classes) else ""
        raise DatasetError(key, value, f"one class only{only} in {file}: needs at least 2")
    return tuple(classes.tolist()), y.reshape(-1)


def split_sizes(n_samples, test_size, val_size):
    """(n_train, n_val, n_test) for fractions test_size and val_size of n_samples."""
    n_test = math.ceil(test_size * n_samples)
    n_val = math.ceil(val_size * n_samples)
    return n_samples - n_test - n_val, n_val, n_test


def smallest_splittable(n_classes, test_size, val_size, rows=None):
    """The fewest n_samples whose split leaves every part at least n_classes rows."""
    n = 1
    while min(split_sizes((rows or int)(n), test_size, val_size)) < n_classes:
        n += 1
    return n


def least_per_part(counts, test_size, val_size):
    """Rows each class surely gets in (train, val, test), (3, k), of load()'s split, any seed.

    load() splits off the test part, then the validation part, each with scikit-learn's stratified
    split, which gives a class at least the floor of its share of a part's rows (its share rounded
    up at most).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    _, n_val, n_test = split_sizes(n, test_size, val_size)
    test = counts * n_test // n
    rest = counts - -(-counts * n_test // n)  # the least each class keeps for train and val
    n_rest = n - n_test
    val = rest * n_val // n_rest if n_rest else rest * 0
    train = rest * (n_rest - n_val) // n_rest if n_rest else rest * 0
    return np.stack([train, val, test])


def check_sizes(test_size, val_size):
    for key, value in (("test_size", test_size), ("val_size", val_size)):
        if not (isinstance(value, int | float) and 0 < value < 1):
            raise DatasetError(key, value, "must be a number in (0, 1)")
    if test_size + val_size >= 1:
        raise DatasetError("val_size", val_size, f"must be less than 1 - test_size = "
                           f"{1 - test_size:g} (so the training part is not empty)")


def check_classes(counts, classes, test_size, val_size, label_key, label_value, where):
    """DatasetError unless every class surely has a row in every part of the split."""
    counts = np.asarray(counts)
    n = int(counts.sum())
    sizes = dict(zip(("train", "validation", "test"), split_sizes(n, test_size, val_size),
                     strict=True))
    fewest = int(np.argmin(counts))
    if counts[fewest] < 3:
        raise DatasetError(label_key, label_value, f"class {classes[fewest]!r} has "
                           f"{counts[fewest]} of {n} rows in {where} ({len(counts)} classes): too "
                           "few for one in each of train, validation and test")
    least = least_per_part(counts, test_size, val_size)
    for part, key, value in (("test", "test_size", test_size),
                             ("validation", "val_size", val_size),
                             ("train", "val_size", val_size)):
        row = {"train": 0, "validation": 1, "test": 2}[part]
        short = np.flatnonzero(least[row] < 1)
        if len(short):
            i = short[np.argmin(counts[short])]
            raise DatasetError(key, value, f"the {part} part ({sizes[part]} of {n} rows) may get "
                               f"no row of class {classes[i]!r} ({counts[i]} rows in {where}); "
                               "every class needs one in train, validation and test")



def split_indices(y, seed, test_size, val_size):
    """(train, val, test) row indices of labels y (m,) 0..k−1: the test part split off, then the
    validation part, each stratified and seeded (seed). Which rows go where depends on y and the
    seed only, so a table's text columns can be encoded after the split, on its training part."""
    from sklearn.model_selection import train_test_split

    n_classes = int(y.max()) + 1
    _, n_val, n_test = split_sizes(len(y), test_size, val_size)
    split_rng = np.random.RandomState(int(seed))
    rest, test, y_rest, y_test = train_test_split(
        np.arange(len(y)), y, test_size=n_test, stratify=y, random_state=split_rng
    )
    train, val, y_train, y_val = train_test_split(
        rest, y_rest, test_size=n_val, stratify=y_rest, random_state=split_rng
    )
    for part, labels in (("train", y_train), ("validation", y_val), ("test", y_test)):
        if len(np.unique(labels)) < n_classes:  # the stratified split's guarantee, made sure of
            raise DatasetError("test_size" if part == "test" else "val_size",
                               test_size if part == "test" else val_size,
                               f"leaves the {part} part without a row of every class")
    return train, val, test


def standardise(X, indices, n_scaled=None):
    """((X_train, X_val, X_test), mean (n,), scale (n,)) of X (m, n) split by indices (train,
    val, test): the first n_scaled columns (all when None) standardised by a StandardScaler fitted
    on the training part, the others (one-hot) kept as 0 and 1 (mean 0, scale 1)."""
    from sklearn.preprocessing import StandardScaler

    n_scaled = X.shape[1] if n_scaled is None else n_scaled
    mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if n_scaled:
        scaler = StandardScaler().fit(X[indices[0]][:, :n_scaled])
        mean[:n_scaled], scale[:n_scaled] = scaler.mean_, scaler.scale_
    return tuple((X[i] - mean) / scale for i in indices), mean, scale
