"""Weight initialisations, each drawing W[l] of shape (n[l], n[l-1]) from a numpy Generator.

normal: 0.01 · N(0, 1), the course's small random weights (biases start at zero).
xavier: Glorot uniform, U(±√(6 / (n[l-1] + n[l]))), suited to sigmoid and tanh.
he:     N(0, 2 / n[l-1]), suited to ReLU.
"""

import numpy as np


def normal(rng, shape):
    """0.01 · N(0, 1). (n[l], n[l-1])"""
    return 0.01 * rng.standard_normal(shape)


def xavier(rng, shape):
    """Glorot uniform: U(−r, r), r = √(6 / (fan_in + fan_out)). (n[l], n[l-1])"""
    fan_out, fan_in = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def he(rng, shape):
    """He normal: N(0, 2 / fan_in). (n[l], n[l-1])"""
    return rng.standard_normal(shape) * np.sqrt(2.0 / shape[1])


INITIALIZERS = {"normal": normal, "xavier": xavier, "he": he}
