"""Output layers, their losses, and which class an output means.

The output is a sigmoid unit for two classes (n[L] = 1) or a softmax over n[L] ≥ 2 classes; each
pairs with its cross-entropy so that the output error is simply dZ[L] = A[L] − Y. The loss is the
mean over samples of −log(probability given to the true class), that probability clipped to
[eps, 1 − eps] (as scikit-learn does), so it is finite for any |z|; a non-finite loss therefore
means non-finite weights, i.e. divergence.

Arrays carry a leading replica axis: A[L] and Y are (R, n[L], m), labels (R, m), and a loss is one
figure per replica, (R,). Each replica's sum over its m samples runs along the contiguous last axis,
so it is the same pairwise summation, bit for bit, as for that replica alone.
"""

import numpy as np

from .activations import sigmoid

EPS = {np.dtype(t): np.finfo(t).eps for t in (np.float32, np.float64)}


def softmax(z):
    """a = e^z / Σ e^z over the units (axis −2), in place and stable for any |z|. (…, k, m)"""
    z -= z.max(axis=-2, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-2, keepdims=True)
    return z


def predicted_class(A_L, axis=-2):
    """The class an output means: the index of the largest unit along `axis` (the units), or for a
    single sigmoid unit class 1 exactly when A[L] > 0.5. Ties go to the lower class index in both
    cases (an output of exactly 0.5 means class 0, as argmax over [1 − a, a] says). The units axis
    is removed: (…, n[L], m) -> (…, m) integers."""
    if A_L.shape[axis] == 1:
        first = (slice(None),) * (axis % A_L.ndim) + (0,)
        return np.greater(A_L[first], 0.5).view(np.uint8)
    return A_L.argmax(axis=axis)


def true_class_probability(A_L, labels, out=None, complement=None):
    """The probability the output gives each sample's true class. (R, n[L], m), (R, m) -> (R, m)

    complement: 1 − labels in A_L's dtype, if the caller has it (a sigmoid output uses it)."""
    if A_L.shape[-2] == 1:  # sigmoid: a for class 1, 1 − a for class 0, i.e. |1 − y − a|
        if complement is None:
            complement = (1 - labels).astype(A_L.dtype)
        out = np.subtract(complement, A_L[:, 0], out=out)
        return np.abs(out, out=out)
    picked = np.take_along_axis(A_L, labels[:, None, :], axis=-2)[:, 0]
    if out is None:
        return picked
    np.copyto(out, picked)
    return out


def log_sum(p):
    """Σ over the last axis of log(clip(p, eps, 1 − eps)), in place in p; one float64 per row (the
    loss's sum, negated). (R, m) -> (R,)"""
    eps = EPS[p.dtype]
    np.maximum(p, eps, out=p)
    np.minimum(p, 1 - eps, out=p)
    np.log(p, out=p)
    total = np.add.reduce(p, axis=-1)  # pairwise along each replica's contiguous row
    return total if total.dtype == np.float64 else total.astype(np.float64)


def mean_cross_entropy(A_L, labels):
    """Mean cross-entropy per replica (binary for one sigmoid unit, else categorical).
    (R, n[L], m), (R, m) integer labels -> (R,)"""
    return log_sum(true_class_probability(A_L, labels)) / -A_L.shape[-1]  # −Σ log p / m


def labels_of(Y):
    """Integer labels from targets: a 0/1 row for one sigmoid unit, else one-hot.
    (R, n, m) -> (R, m)"""
    return (Y[:, 0] > 0.5).astype(np.intp) if Y.shape[-2] == 1 else Y.argmax(axis=-2)


def one_hot(labels, n_out, dtype=np.float64):
    """Integer labels -> targets Y: a 0/1 row for one sigmoid unit, else one-hot.
    (…, m) -> (…, n_out, m)"""
    labels = np.asarray(labels)
    if n_out == 1:
        return labels[..., None, :].astype(dtype)
    return (labels[..., None, :] == np.arange(n_out)[:, None]).astype(dtype)


OUTPUTS = {"sigmoid": sigmoid, "softmax": softmax}
