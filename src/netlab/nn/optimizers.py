"""Parameter updates, applied in place to the network's [W1 | b1], … from its [dW1 | db1], ….

Every array carries the replica axis; each update is elementwise, so replicas never mix.

sgd:      θ ← θ − α dθ  (full-batch gradient descent when the batch is the whole training set; "gd")
momentum: v ← μ v − α dθ,  θ ← θ + v            (classical momentum, as in scikit-learn and PyTorch)
adam:     m ← β1 m + (1 − β1) dθ,  s ← β2 s + (1 − β2) dθ²,
          θ ← θ − α_t m / (√s + ε),  α_t = α √(1 − β2^t) / (1 − β1^t)
The gradient arrays are scratch space: an update may overwrite them.

α, μ, β1 and β2 are each one number, or an array (R, 1, 1) with one per replica (a sweep's
learning rates trained as replicas of one stack): every operation is elementwise, so replica r's
update is the one a network trained alone with its own values makes, bit for bit.
"""

import numpy as np

from .constraints import DEFAULTS, check


class SGD:
    """θ ← θ − α dθ."""

    def __init__(self, params, learning_rate):
        self.params, self.learning_rate = params, learning_rate

    def step(self, grads):
        """Apply one update in place."""
        for p, g in zip(self.params, grads, strict=True):
            g *= self.learning_rate
            p -= g  # θ ← θ − α dθ


class Momentum:
    """v ← μ v − α dθ; θ ← θ + v."""

    def __init__(self, params, learning_rate, momentum=0.9):
        self.params, self.learning_rate, self.momentum = params, learning_rate, momentum
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, grads):
        """Apply one update in place."""
        for p, g, v in zip(self.params, grads, self.velocities, strict=True):
            v *= self.momentum
            g *= self.learning_rate
            v -= g  # v ← μ v − α dθ
            p += v  # θ ← θ + v


class Adam:
    """Adam (Kingma & Ba) with bias correction folded into the step size."""

    def __init__(self, params, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.params, self.learning_rate = params, learning_rate
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.s = [np.zeros_like(p) for p in params]

    def step(self, grads):
        """Apply one update in place."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.step_size()
        for p, g, m, s in zip(self.params, grads, self.m, self.s, strict=True):
            m *= b1
            m += (1 - b1) * g  # m ← β1 m + (1 − β1) dθ
            g *= g
            s *= b2
            s += (1 - b2) * g  # s ← β2 s + (1 − β2) dθ²
            np.sqrt(s, out=g)
            g += self.epsilon
            np.divide(m, g, out=g)
            g *= step
            p -= g  # θ ← θ − α_t m / (√s + ε)

    def step_size(self):
        """α_t = α √(1 − β2^t) / (1 − β1^t): a number, or (R, 1, 1) per replica, each computed from
        Python floats exactly as for one replica alone."""
        t, values = self.t, (self.learning_rate, self.beta1, self.beta2)
        if all(np.ndim(v) == 0 for v in values):
            return self.learning_rate * np.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        R = max(np.size(v) for v in values)
        lr, b1, b2 = ([v] * R if np.ndim(v) == 0 else np.ravel(v).tolist() for v in values)
        return np.array([a * np.sqrt(1 - c**t) / (1 - d**t)
                         for a, d, c in zip(lr, b1, b2, strict=True)]).reshape(R, 1, 1)


OPTIMIZERS = {"gd": SGD, "sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name, params, learning_rate, momentum=DEFAULTS["momentum"],
                   beta1=DEFAULTS["beta1"], beta2=DEFAULTS["beta2"]):
    """The named optimizer over params (a list of arrays updated in place); each number may be
    an array (R, 1, 1), one per replica (training.per_replica)."""
    name = check("optimizer", name)
    learning_rate, momentum, beta1, beta2 = (
        _checked(k, v) for k, v in (("learning_rate", learning_rate), ("momentum", momentum),
                                    ("beta1", beta1), ("beta2", beta2)))
    if name == "momentum":
        return Momentum(params, learning_rate, momentum)
    if name == "adam":
        return Adam(params, learning_rate, beta1, beta2)
    return SGD(params, learning_rate)


def _checked(name, value):
    """value checked by its rule: a number, or every entry of a per-replica array."""
    if np.ndim(value) == 0:
        return check(name, value)
    for v in np.ravel(value).tolist():
        check(name, v)
    return value
