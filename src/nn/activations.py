"""The activation functions g and their derivatives g′: a small table of in-place NumPy functions.

Each forward function overwrites z with a = g(z). Each derivative multiplies a gradient dz in place
by g′(z), written in terms of a = g(z) (so the forward pass need not keep z), and may overwrite a,
which backward propagation no longer needs once dz has been formed:
sigmoid′ = a(1 − a), tanh′ = 1 − a², relu′ = [a > 0], leaky_relu′ = 1 or slope, identity′ = 1.
A new activation is one entry in ACTIVATIONS.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit

LEAKY_SLOPE = 0.01


def sigmoid(z):
    """a = σ(z) = 1 / (1 + e^(−z)), in place; stable for any |z|. (n, m) -> (n, m)"""
    return expit(z, out=z)


def tanh(z):
    """a = tanh(z), in place. (n, m) -> (n, m)"""
    return np.tanh(z, out=z)


def relu(z):
    """a = max(0, z), in place. (n, m) -> (n, m)"""
    return np.maximum(z, 0, out=z)


def leaky_relu(z):
    """a = max(slope·z, z), in place. (n, m) -> (n, m)"""
    return np.maximum(z, LEAKY_SLOPE * z, out=z)


def identity(z):
    """a = z. (n, m) -> (n, m)"""
    return z


def sigmoid_derivative(a, dz):
    """dz *= σ′(z) = a(1 − a), in place (overwrites a). (n, m), (n, m) -> None"""
    dz *= a
    np.subtract(1, a, out=a)
    dz *= a


def tanh_derivative(a, dz):
    """dz *= tanh′(z) = 1 − a², in place (overwrites a). (n, m), (n, m) -> None"""
    np.multiply(a, a, out=a)
    np.subtract(1, a, out=a)
    dz *= a


def relu_derivative(a, dz):
    """dz *= relu′(z) = [z > 0] = [a > 0], in place. (n, m), (n, m) -> None"""
    np.multiply(dz, a > 0, out=dz)  # a one-byte mask: cheaper than a float one


def leaky_relu_derivative(a, dz):
    """dz *= leaky_relu′(z) = 1 if z > 0 else slope (z > 0 exactly when a > 0), in place."""
    np.multiply(dz, LEAKY_SLOPE, out=dz, where=a <= 0)


def identity_derivative(a, dz):
    """dz *= identity′(z) = 1: nothing to do."""


class Activation(NamedTuple):
    forward: object
    derivative: object


ACTIVATIONS = {
    "sigmoid": Activation(sigmoid, sigmoid_derivative),
    "tanh": Activation(tanh, tanh_derivative),
    "relu": Activation(relu, relu_derivative),
    "leaky_relu": Activation(leaky_relu, leaky_relu_derivative),
    "identity": Activation(identity, identity_derivative),
}
