"""Gradient checking: backward propagation against central finite differences, before training.

gradcheck() perturbs each of (a sample of) the parameters of every layer by ±eps on a small batch
and compares (J(θ + eps) − J(θ − eps)) / 2eps with the gradient backward propagation computes, for
J = mean cross-entropy + L2 term. It works on a float64 copy of replica 0 (all replicas share the
activation, which is what it checks), so float32 networks are checked too. A layer's error is
‖analytic − numerical‖ / max(‖analytic‖, ‖numerical‖, FLOOR) over its checked entries (W and b):
central differences are good to ~1e-10 per entry here, so gradients smaller than FLOOR are compared
in absolute terms rather than drowned in that noise.
"""

import numpy as np

from .losses import one_hot
from .network import Network

EPS = 1e-6
FLOOR = 1e-4
TOLERANCE = 1e-4


class GradientCheckError(ValueError):
    """Analytic and numerical gradients disagree: the activation's derivative is wrong."""

    def __init__(self, activation, layer, error, tolerance):
        super().__init__(
            f"gradcheck: activation {activation!r}, layer {layer}: analytic and numerical "
            f"gradients differ by {error:.1e} (relative; tolerance {tolerance:g})"
        )
        self.activation, self.layer = activation, layer
        self.error, self.tolerance = error, tolerance


def gradcheck(net, X, labels, l2=0.0, samples=8, max_params=300, eps=EPS, tolerance=None, seed=0):
    """The worst relative error per layer, {l: error}, of backward propagation against central
    finite differences, on replica 0 and its first `samples` samples, with at most about max_params
    parameters checked (sampled evenly over the layers when there are more). X (R, n[0], m) or
    (n[0], m), labels (R, m) or (m,). tolerance: raise GradientCheckError if a layer exceeds it."""
    X, labels = np.asarray(X), np.asarray(labels)
    X0 = (X[0] if X.ndim == 3 else X)[:, :samples].astype(np.float64)[None]
    y0 = (labels[0] if labels.ndim == 2 else labels)[:samples][None].astype(np.intp)
    copy = Network(net.sizes, net.activation, "float64")
    copy.set_parameters([W[0] for W in net.W[1:]], [b[0] for b in net.b[1:]])
    Y = one_hot(y0, net.sizes[-1])
    m = X0.shape[-1]

    def objective():
        """J = mean loss + (λ / 2m) Σ ‖W‖² (forward first: backward overwrites the activations)."""
        return float(copy.loss(copy.forward(X0), y0)[0] + copy.loss_penalty(m, l2)[0])

    copy.forward(X0)
    copy.backward(Y, l2)
    analytic = [g[0].copy() for g in copy.gradients()]
    rng = np.random.default_rng(seed)
    per_layer = max(1, max_params // copy.L)
    errors = {}
    with np.errstate(all="ignore"):
        for l, (theta, grad) in enumerate(zip(copy.parameters(), analytic, strict=True), start=1):
            theta = theta[0]  # [W[l] | b[l]] of the copy, perturbed in place
            flat = np.arange(theta.size)
            if theta.size > per_layer:
                flat = np.sort(rng.choice(theta.size, per_layer, replace=False))
            numeric = np.empty(flat.size)
            for i, k in enumerate(flat):
                idx = np.unravel_index(k, theta.shape)
                old = theta[idx]
                theta[idx] = old + eps
                plus = objective()
                theta[idx] = old - eps
                minus = objective()
                theta[idx] = old
                numeric[i] = (plus - minus) / (2 * eps)
            a = grad.ravel()[flat]
            scale = max(np.linalg.norm(a), np.linalg.norm(numeric), FLOOR)
            error = float(np.linalg.norm(a - numeric) / scale)
            errors[l] = error if np.isfinite(error) else float("inf")
    if tolerance is not None:
        layer = max(errors, key=errors.get)
        if errors[layer] > tolerance:
            raise GradientCheckError(net.activation, layer, errors[layer], tolerance)
    return errors
