"""Backpropagation against central finite differences, for every activation, output and depth."""

from itertools import pairwise

import numpy as np
import pytest

from src.nn import ACTIVATIONS, Network

EPS = 1e-6  # finite-difference step
KINK_MARGIN = 1e-3  # |Z| of every hidden pre-activation must exceed this for relu / leaky_relu
N_FEATURES, M = 3, 7
HIDDEN = {0: (), 1: (5,), 2: (4, 3), 3: (4, 3, 5)}
OUTPUTS = {"binary": 1, "softmax": 3}


def make_problem(activation, depth, n_out, seed):
    """A small random network with random biases, inputs X (n0, m) and targets Y (n_out, m)."""
    rng = np.random.default_rng(seed)
    sizes = (N_FEATURES, *HIDDEN[depth], n_out)
    net = Network(sizes, activation)
    W = [rng.normal(0, 0.8, (n, p)) for p, n in pairwise(sizes)]
    b = [rng.normal(0, 0.5, (n, 1)) for n in sizes[1:]]
    net.set_parameters(W, b)
    X = rng.normal(size=(N_FEATURES, M))
    if n_out == 1:
        Y = rng.integers(0, 2, size=(1, M)).astype(float)
    else:
        Y = np.zeros((n_out, M))
        Y[rng.integers(0, n_out, size=M), np.arange(M)] = 1.0
    return net, X, Y


def hidden_pre_activations(net, X):
    """Z[1..L-1] computed independently of the network's in-place buffers."""
    g = ACTIVATIONS[net.activation].forward
    A, Zs = X, []
    for l in range(1, net.L):
        Z = net.W[l] @ A + net.b[l]
        Zs.append(Z.copy())
        A = g(Z)
    return Zs


def objective(net, X, Y, l2):
    """The loss the gradients are of: mean cross-entropy + (λ / 2m) Σ ‖W‖². forward() comes first,
    since backward() overwrites the cached activations."""
    return net.loss(net.forward(X), Y) + net.loss_penalty(X.shape[1], l2)


def numerical_gradients(net, X, Y, l2):
    out = []
    for p in params(net):
        g = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + EPS
            plus = objective(net, X, Y, l2)
            p[idx] = old - EPS
            minus = objective(net, X, Y, l2)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * EPS)
        out.append(g)
    return out


def params(net):
    """[W1, b1, W2, b2, …]: the network's own arrays (views), perturbed in place."""
    return [p for l in range(1, net.L + 1) for p in (net.W[l], net.b[l])]


def grads(net):
    """[dW1, db1, dW2, db2, …] from the last backward pass."""
    return [g for l in range(1, net.L + 1) for g in (net.dW[l], net.db[l])]


def relative_error(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("l2", [0.0, 0.7], ids=["no_l2", "l2"])
@pytest.mark.parametrize("depth", sorted(HIDDEN))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_finite_differences(activation, output, depth, l2):
    n_out = OUTPUTS[output]
    for seed in range(100):  # the first draw whose hidden units all sit clear of any kink
        net, X, Y = make_problem(activation, depth, n_out, seed)
        Zs = hidden_pre_activations(net, X)
        if all(np.abs(Z).min() > KINK_MARGIN for Z in Zs):
            break
    else:
        pytest.fail("no random draw kept the pre-activations away from 0")
    assert net.output == ("sigmoid" if n_out == 1 else "softmax")
    if activation == "relu" and depth > 0:  # the draw must exercise both sides of the kink
        assert any((Z > 0).any() and (Z < 0).any() for Z in Zs)

    A_L = net.forward(X)
    assert np.all((A_L > 1e-6) & (A_L < 1 - 1e-6)), "probabilities must stay inside the clip range"
    net.backward(Y, l2)
    analytic = [g.copy() for g in grads(net)]
    numeric = numerical_gradients(net, X, Y, l2)

    for a, n in zip(analytic, numeric, strict=True):
        assert a.shape == n.shape
    assert np.linalg.norm(np.concatenate([g.ravel() for g in analytic])) > 1e-3
    err = relative_error(analytic, numeric)
    assert err < 1e-6, f"relative error {err:.3g}"
    # every layer separately as well, so a small layer cannot hide behind a large one
    for i, (a, n) in enumerate(zip(analytic, numeric, strict=True)):
        if np.linalg.norm(n) > 1e-8:
            assert relative_error([a], [n]) < 1e-5, f"parameter {i}"


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_derivative_table(activation):
    """Each derivative entry multiplies dz by g′(z) (given a = g(z)), checked pointwise."""
    g, g_prime = ACTIVATIONS[activation]
    z = np.array([[-3.0, -0.7, -0.01, 0.02, 0.5, 2.5]])
    numeric = (g(z + EPS) - g(z - EPS)) / (2 * EPS)
    a = g(z.copy())
    dz = np.full_like(z, 2.0)
    g_prime(a, dz)
    np.testing.assert_allclose(dz, 2.0 * numeric, rtol=1e-7, atol=1e-9)


def test_gradients_do_not_depend_on_an_interleaved_predict():
    """predict_proba must not touch the caches backward() relies on."""
    net, X, Y = make_problem("tanh", 2, 3, 0)
    net.forward(X)
    net.backward(Y)
    expected = [g.copy() for g in grads(net)]
    net.forward(X)
    net.predict_proba(np.random.default_rng(1).normal(size=(N_FEATURES, M)))
    net.backward(Y)
    for e, g in zip(expected, grads(net), strict=True):
        np.testing.assert_array_equal(e, g)
