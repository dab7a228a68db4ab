"""Training dynamics, read off what forward and backward propagation already hold.

At a probe epoch the trainer adds, per replica (arrays (R,)), for every layer l = 1 … L:

- ``grad_norm_<l>``: ‖dW[l]‖ (Frobenius, W part only) of the gradient the optimizer steps with
  (the epoch's last batch, L2 term included);
- ``weight_norm_<l>``: ‖W[l]‖ after the epoch's last step;

and for every hidden layer l = 1 … L−1 the statistic its activation's table entry names:

- ``saturated_<l>`` (sigmoid, tanh): the share of the layer's units whose g′(z) is below 1 % of g′'s
  maximum on most (> 50 %) of the samples. Computed from the epoch's last batch before backward
  propagation overwrites its activations, on its first MAX_SAMPLES samples at most (a fixed subset
  of the training set for full-batch training);
- ``dead_<l>`` (relu): the share of the layer's units with g′ = 0, i.e. a = 0, on every sample of
  the epoch's last batch. Read from the gradient: such a unit's row of [dW[l] | db[l]] (before the
  L2 term) is exactly zero, a test that costs one pass over the weights, not over the batch. (A row
  is also zero if no gradient reaches a live unit at all, which only a unit with all-zero outgoing
  weights sees; that unit learns nothing either.)
"""

import numpy as np

MAX_SAMPLES = 256
SATURATION = 0.01  # g′ below this share of its maximum counts as saturated


def squared_norm(W, out):
    """‖W‖² per replica into out, each replica's squares summed along one contiguous row.
    (R, n, k) -> (R,)"""
    np.add.reduce(np.square(W).reshape(W.shape[0], -1), axis=1, out=out)


def saturated_share(activation, A, Z=None, max_samples=MAX_SAMPLES):
    """Share of units (rows) whose g′ is below 1 % of its maximum on more than half of the first
    max_samples samples. A = g(Z) (R, n, m); Z only for an activation that needs z -> (R,)"""
    s = min(A.shape[-1], max_samples)
    a = A[..., :s].copy()
    z = Z[..., :s].copy() if Z is not None else None
    g_prime = np.empty_like(a)
    g_prime.fill(1.0)
    activation.derivative(a, g_prime, z)  # g′(z) = 1 · g′(z)
    low = g_prime < SATURATION * activation.derivative_max
    saturated = np.add.reduce(low, axis=-1) > s / 2  # (R, n): on most of the samples
    return np.add.reduce(saturated, axis=-1) / saturated.shape[-1]


def dead_share(zero_rows):
    """Share of units whose gradient row is all zero. (R, n) bool -> (R,)"""
    return np.add.reduce(zero_rows, axis=-1) / zero_rows.shape[-1]


def activation_statistics(net, cache, out, rows):
    """Fill out[f"saturated_{l}"][rows] for a saturating activation's hidden layers, from the
    forward pass cache holds (before backward)."""
    activation = net._activation
    if activation.statistic != "saturated":
        return
    for l in range(1, net.L):
        out[f"saturated_{l}"][rows] = saturated_share(activation, cache.Z[l], cache.Zkeep[l])


def gradient_statistics(net, out, rows):
    """Fill out[grad_norm_<l>][rows] with ‖dW[l]‖² (finish() takes the square roots) and dead_<l>
    for a "dead" activation, after backward (with zero_rows=True), before the optimizer step."""
    for l in range(1, net.L + 1):
        squared_norm(net.dW[l], out[f"grad_norm_{l}"][rows])
        if l < net.L and net._activation.statistic == "dead":
            out[f"dead_{l}"][rows] = dead_share(net.zero_gradient_rows[l])


def weight_statistics(net, out, rows):
    """Fill out[weight_norm_<l>][rows] with ‖W[l]‖² (after the step; finish() takes the roots)."""
    for l in range(1, net.L + 1):
        squared_norm(net.W[l], out[f"weight_norm_{l}"][rows])


def keys(net):
    """The names a probe epoch adds to the record, for this network: the norms first."""
    names = [f"{kind}_{l}" for kind in ("grad_norm", "weight_norm") for l in range(1, net.L + 1)]
    statistic = net._activation.statistic
    if statistic is not None:
        names += [f"{statistic}_{l}" for l in range(1, net.L)]
    return names


def table(names, replicas):
    """A fresh probe epoch's figures: (an array (len(names), R) of NaN, {name: its row}), names
    from keys()."""
    figures = np.empty((len(names), replicas))
    figures.fill(np.nan)
    return figures, dict(zip(names, figures, strict=True))


def finish(net, figures):
    """The square roots of the squared norms the statistics above left (the first 2L rows of the
    table, in keys() order), in one pass."""
    norms = figures[: 2 * net.L]
    np.sqrt(norms, out=norms)
