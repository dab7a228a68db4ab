"""Output layers and their losses: sigmoid + binary cross-entropy, softmax + cross-entropy.

Both pair with their loss so that the output error is simply dz[L] = a[L] − y.
The loss is the mean over samples of −log(probability given to the true class), with that
probability clipped to [eps, 1 − eps] (as scikit-learn does), so it is finite for any |z|; a
non-finite loss therefore means non-finite weights, i.e. divergence.
"""

import numpy as np

from .activations import sigmoid


def softmax(z):
    """a = e^z / Σ e^z over the units (axis 0), in place and stable for any |z|. (k, m) -> (k, m)"""
    z -= z.max(axis=0, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=0, keepdims=True)
    return z


def _mean_negative_log(p):
    """−mean(log(clip(p, eps, 1 − eps))) over a vector of true-class probabilities, in place."""
    eps = np.finfo(p.dtype).eps
    np.maximum(p, eps, out=p)
    np.minimum(p, 1 - eps, out=p)
    np.log(p, out=p)
    return -float(p.sum()) / p.size


def binary_cross_entropy(a, y):
    """L = −mean(y log a + (1 − y) log(1 − a)) for 0/1 targets; a, y of shape (1, m) -> float"""
    return _mean_negative_log(np.abs(1 - y - a))  # the true class's probability: a or 1 − a


def cross_entropy(a, y):
    """L = −mean over samples of Σ_k y_k log a_k for one-hot y; a, y of shape (k, m) -> float"""
    return _mean_negative_log((a * y).sum(axis=0))


OUTPUTS = {
    "sigmoid": (sigmoid, binary_cross_entropy),
    "softmax": (softmax, cross_entropy),
}
