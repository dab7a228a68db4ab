"""Output layers and their losses: sigmoid + binary cross-entropy, softmax + cross-entropy.

Both pair with their loss so that the output error is simply dz[L] = a[L] − y.
Probabilities are clipped to [eps, 1 − eps] inside the log (as scikit-learn does), so a loss is finite
for any |z|; a non-finite loss therefore means non-finite weights, i.e. divergence.
"""

import numpy as np
from scipy.special import xlogy

from .activations import sigmoid


def softmax(z):
    """a = e^z / Σ e^z over the units (axis 0), in place and stable for any |z|. (k, m) -> (k, m)"""
    z -= z.max(axis=0, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=0, keepdims=True)
    return z


def binary_cross_entropy(a, y):
    """L = −mean(y log a + (1 − y) log(1 − a)); a, y of shape (1, m) -> float"""
    eps = np.finfo(a.dtype).eps
    p = np.clip(a, eps, 1 - eps)
    return -float((xlogy(y, p) + xlogy(1 - y, 1 - p)).sum()) / a.shape[1]


def cross_entropy(a, y):
    """L = −mean over samples of Σ_k y_k log a_k; a, y one-hot of shape (k, m) -> float"""
    eps = np.finfo(a.dtype).eps
    p = np.clip(a, eps, 1 - eps)
    return -float(xlogy(y, p).sum()) / a.shape[1]


OUTPUTS = {
    "sigmoid": (sigmoid, binary_cross_entropy),
    "softmax": (softmax, cross_entropy),
}
