"""The activation functions g and their derivatives g′: one table, ACTIVATIONS, of in-place code.

An entry is Activation(forward, derivative, needs_z=False, statistic=None, derivative_max=None):

- forward(z) overwrites z with a = g(z) (any shape) and returns it.
- derivative(a, dz, z) multiplies the gradient dz in place by g′(z). It gets a = g(z), and z itself
  when the entry says needs_z=True (else z is None: the forward pass keeps no copy of z, so the
  built-in activations cost nothing extra). It may overwrite a and z, which backward propagation
  no longer needs once dz has been formed.
- statistic names what the training dynamics record for a hidden layer of this activation:
  "saturated" (share of units with g′(z) below 1 % of derivative_max, g′'s maximum, on most samples)
  or "dead" (share of units whose g′ is 0 on every sample of the batch), or None.

In terms of a: sigmoid′ = a(1 − a), tanh′ = 1 − a², relu′ = [a > 0], leaky_relu′ = 1 or slope,
identity′ = 1, softplus′ = σ(z) = 1 − e^(−a). swish′ and gelu′ cannot be written in a alone, so
those entries ask for z.

Adding an activation is one entry here: a forward and a derivative (declare needs_z=True if the
derivative uses z). With no test edited, it is then checked by tests/test_gradients.py (backprop
against finite differences at every depth 0–3, both outputs, with and without L2, and the derivative
pointwise), tests/test_network.py (stable, silent and finite at |z| = 1e4, float32 and float64) and
tests/test_replicas.py (replicas bit-identical to the network trained alone), all parametrized over
ACTIVATIONS; it is a valid `activation` for NetClassifier and the config at once (the constraint
reads this table). NetClassifier(gradcheck=True) or TrainingConfig(gradcheck=True) checks a
derivative against finite differences before training and refuses to train if they disagree.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy.special import expit

LEAKY_SLOPE = 0.01
GELU_C = math.sqrt(2 / math.pi)  # gelu's tanh approximation: tanh(√(2/π) (z + 0.044715 z³))
GELU_K = 0.044715


def sigmoid(z):
    """a = σ(z) = 1 / (1 + e^(−z)), in place; stable for any |z|. (…) -> (…)"""
    return expit(z, out=z)


def tanh(z):
    """a = tanh(z), in place. (…) -> (…)"""
    return np.tanh(z, out=z)


def relu(z):
    """a = max(0, z), in place. (…) -> (…)"""
    return np.maximum(z, 0, out=z)


def leaky_relu(z):
    """a = max(slope·z, z), in place. (…) -> (…)"""
    return np.maximum(z, LEAKY_SLOPE * z, out=z)


def identity(z):
    """a = z. (…) -> (…)"""
    return z


def swish(z):
    """a = z·σ(z) (also called SiLU), in place; stable for any |z|. (…) -> (…)"""
    return np.multiply(z, expit(z), out=z)


def gelu(z):
    """a = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))), the tanh approximation, in place. (…) -> (…)"""
    t = z * z
    t *= GELU_K
    t += 1
    t *= z
    t *= GELU_C
    np.tanh(t, out=t)  # tanh(u), u = √(2/π)(z + k z³)
    t += 1
    t *= 0.5
    return np.multiply(z, t, out=z)


def softplus(z):
    """a = log(1 + e^z), in place; stable for any |z| (log(e^0 + e^z)). (…) -> (…)"""
    return np.logaddexp(0, z, out=z)


def sigmoid_derivative(a, dz, z=None):
    """dz *= σ′(z) = a(1 − a), in place (overwrites a)."""
    dz *= a
    np.subtract(1, a, out=a)
    dz *= a


def tanh_derivative(a, dz, z=None):
    """dz *= tanh′(z) = 1 − a², in place (overwrites a)."""
    np.multiply(a, a, out=a)
    np.subtract(1, a, out=a)
    dz *= a


def relu_derivative(a, dz, z=None):
    """dz *= relu′(z) = [z > 0] = [a > 0], in place."""
    np.multiply(dz, a > 0, out=dz)  # a one-byte mask: cheaper than a float one


def leaky_relu_derivative(a, dz, z=None):
    """dz *= leaky_relu′(z) = 1 if z > 0 else slope (z > 0 exactly when a > 0), in place."""
    np.multiply(dz, LEAKY_SLOPE, out=dz, where=a <= 0)


def identity_derivative(a, dz, z=None):
    """dz *= identity′(z) = 1: nothing to do."""


def swish_derivative(a, dz, z):
    """dz *= swish′(z) = σ(z) + a(1 − σ(z)) = 1 − (1 − a)(1 − σ(z)), in place (overwrites a, z)."""
    np.negative(z, out=z)
    expit(z, out=z)  # 1 − σ(z) = σ(−z), accurate where σ(z) is close to 1
    np.subtract(1, a, out=a)
    a *= z
    np.subtract(1, a, out=a)
    dz *= a


def gelu_derivative(a, dz, z):
    """dz *= gelu′(z) = ½(1 + t) + ½ z (1 − t²) √(2/π)(1 + 3·0.044715 z²), t = tanh(u), in place
    (overwrites a, z). With a = ½ z (1 + t), ½(1 + t) = a / z; computed from z alone instead, so
    z = 0 needs no care."""
    z2 = z * z
    u = z2 * GELU_K
    u += 1
    u *= z
    u *= GELU_C
    t = np.tanh(u, out=u)  # t = tanh(u)
    np.multiply(z2, 3 * GELU_K * GELU_C, out=z2)
    z2 += GELU_C  # √(2/π)(1 + 3k z²) = u′
    np.multiply(t, t, out=a)
    np.subtract(1, a, out=a)  # 1 − t²
    a *= z2
    a *= z
    a *= 0.5  # ½ z (1 − t²) u′
    t += 1
    t *= 0.5  # ½ (1 + t)
    a += t
    dz *= a


def softplus_derivative(a, dz, z=None):
    """dz *= softplus′(z) = σ(z) = 1 − e^(−a) = −expm1(−a), in place (overwrites a)."""
    np.negative(a, out=a)
    np.expm1(a, out=a)
    np.negative(a, out=a)
    dz *= a


class Activation(NamedTuple):
    """One entry of ACTIVATIONS (see the module's docstring)."""

    forward: object
    derivative: object
    needs_z: bool = False
    statistic: str | None = None  # "saturated", "dead" or None: what the dynamics record
    derivative_max: float | None = None  # max of g′ (for "saturated": the 1 % threshold)


ACTIVATIONS = {
    "sigmoid": Activation(sigmoid, sigmoid_derivative, statistic="saturated", derivative_max=0.25),
    "tanh": Activation(tanh, tanh_derivative, statistic="saturated", derivative_max=1.0),
    "relu": Activation(relu, relu_derivative, statistic="dead"),
    "leaky_relu": Activation(leaky_relu, leaky_relu_derivative),
    "identity": Activation(identity, identity_derivative),
    "swish": Activation(swish, swish_derivative, needs_z=True),
    "gelu": Activation(gelu, gelu_derivative, needs_z=True),
    "softplus": Activation(softplus, softplus_derivative),
}
