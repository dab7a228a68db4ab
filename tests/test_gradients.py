"""Backpropagation against central finite differences, for every activation, output and depth, in a
stack of two replicas; the activation table's derivatives pointwise; gradcheck, which refuses a
wrong derivative before training.

Every test here is parametrized over ACTIVATIONS: a new entry is checked with no edit to this file.
"""

from itertools import pairwise

import numpy as np
import pytest
from sklearn.datasets import make_moons

from netlab.nn import (
    ACTIVATIONS,
    Activation,
    GradientCheckError,
    NetClassifier,
    Network,
    TrainingConfig,
    gradcheck,
    train,
)
from netlab.nn.activations import tanh
from netlab.nn.losses import one_hot

EPS = 1e-6  # finite-difference step
KINK_MARGIN = 1e-3  # |Z| of every hidden pre-activation must exceed this for relu / leaky_relu
N_FEATURES, M, R = 3, 7, 2
HIDDEN = {0: (), 1: (5,), 2: (4, 3), 3: (4, 3, 5)}
OUTPUTS = {"binary": 1, "softmax": 3}


def make_problem(activation, depth, n_out, seed):
    """A stack of R small random networks with random biases, each with its own inputs X (R, n0, m)
    and integer labels (R, m)."""
    rng = np.random.default_rng(seed)
    sizes = (N_FEATURES, *HIDDEN[depth], n_out)
    net = Network(sizes, activation, replicas=R)
    W = [rng.normal(0, 0.8, (R, n, p)) for p, n in pairwise(sizes)]
    b = [rng.normal(0, 0.5, (R, n, 1)) for n in sizes[1:]]
    net.set_parameters(W, b)
    X = rng.normal(size=(R, N_FEATURES, M))
    labels = rng.integers(0, max(n_out, 2), size=(R, M))
    return net, X, labels


def hidden_pre_activations(net, X):
    """Z[1..L-1] of every replica, computed independently of the network's in-place buffers."""
    g = ACTIVATIONS[net.activation].forward
    A, Zs = X, []
    for l in range(1, net.L):
        Z = net.W[l] @ A + net.b[l]
        Zs.append(Z.copy())
        A = g(Z)
    return Zs


def objective(net, X, labels, l2):
    """The loss the gradients are of, per replica: mean cross-entropy + (λ / 2m) Σ ‖W‖². forward()
    comes first, since backward() overwrites the cached activations."""
    return net.loss(net.forward(X), labels) + net.loss_penalty(X.shape[-1], l2)


def numerical_gradients(net, X, labels, l2):
    """Per parameter array of the stack, each replica's derivative of its own objective."""
    out = []
    for p in params(net):
        g = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            r, old = idx[0], p[idx]
            p[idx] = old + EPS
            plus = objective(net, X, labels, l2)[r]
            p[idx] = old - EPS
            minus = objective(net, X, labels, l2)[r]
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


def clear_of_kinks(activation, depth, n_out):
    """The first draw whose hidden units all sit clear of any kink (relu, leaky_relu) and whose
    probabilities stay inside the loss's clip range (where the loss is smooth)."""
    for seed in range(100):
        net, X, labels = make_problem(activation, depth, n_out, seed)
        Zs = hidden_pre_activations(net, X)
        A_L = net.predict_proba(X)
        inside = np.all((A_L > 1e-6) & (A_L < 1 - 1e-6))
        if inside and all(np.abs(Z).min() > KINK_MARGIN for Z in Zs):
            return net, X, labels, Zs
    pytest.fail("no random draw kept the pre-activations away from 0")


@pytest.mark.parametrize("l2", [0.0, 0.7], ids=["no_l2", "l2"])
@pytest.mark.parametrize("depth", sorted(HIDDEN))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_finite_differences(activation, output, depth, l2):
    n_out = OUTPUTS[output]
    net, X, labels, Zs = clear_of_kinks(activation, depth, n_out)
    assert net.output == ("sigmoid" if n_out == 1 else "softmax")
    if activation == "relu" and depth > 0:  # the draw must exercise both sides of the kink
        assert any((Z > 0).any() and (Z < 0).any() for Z in Zs)

    net.forward(X)
    net.backward(one_hot(labels, n_out), l2)
    analytic = [g.copy() for g in grads(net)]
    numeric = numerical_gradients(net, X, labels, l2)

    for a, n in zip(analytic, numeric, strict=True):
        assert a.shape == n.shape
    for r in range(R):  # each replica, and every layer of it, so nothing hides behind the rest
        a_r, n_r = [a[r] for a in analytic], [n[r] for n in numeric]
        assert np.linalg.norm(np.concatenate([g.ravel() for g in a_r])) > 1e-3
        err = relative_error(a_r, n_r)
        assert err < 1e-6, f"replica {r}: relative error {err:.3g}"
        for i, (a, n) in enumerate(zip(a_r, n_r, strict=True)):
            if np.linalg.norm(n) > 1e-8:
                assert relative_error([a], [n]) < 1e-5, f"replica {r}, parameter {i}"
    # and gradcheck, on the same network, agrees
    errors = gradcheck(net, X, labels, l2=l2)
    assert set(errors) == set(range(1, net.L + 1))
    assert max(errors.values()) < 1e-6


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_derivative_table(activation):
    """Each derivative multiplies dz by g′(z) (given a = g(z), and z if it asks), pointwise."""
    entry = ACTIVATIONS[activation]
    z = np.array([[-3.0, -0.7, -0.01, 0.02, 0.5, 2.5]])
    numeric = (entry.forward(z + EPS) - entry.forward(z - EPS)) / (2 * EPS)
    a = entry.forward(z.copy())
    dz = np.full_like(z, 2.0)
    entry.derivative(a, dz, z.copy() if entry.needs_z else None)
    np.testing.assert_allclose(dz, 2.0 * numeric, rtol=1e-7, atol=1e-9)
    if entry.statistic == "saturated":  # its declared maximum of g′ is g′'s maximum
        grid = np.linspace(-6, 6, 2401)[None]
        g_prime = np.ones_like(grid)
        entry.derivative(entry.forward(grid.copy()), g_prime, grid.copy())
        assert g_prime.max() == pytest.approx(entry.derivative_max, rel=1e-6)


def test_swish_gelu_softplus_formulas():
    z = np.linspace(-5, 5, 11)
    sigma = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(ACTIVATIONS["swish"].forward(z.copy()), z * sigma, rtol=1e-13)
    gelu = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))
    np.testing.assert_allclose(ACTIVATIONS["gelu"].forward(z.copy()), gelu, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(ACTIVATIONS["softplus"].forward(z.copy()), np.log1p(np.exp(z)),
                               rtol=1e-13)
    assert ACTIVATIONS["swish"].needs_z and ACTIVATIONS["gelu"].needs_z
    assert not any(ACTIVATIONS[name].needs_z for name in ("sigmoid", "tanh", "relu", "softplus"))


def test_gradients_do_not_depend_on_an_interleaved_predict():
    """predict_proba must not touch the caches backward() relies on."""
    net, X, labels = make_problem("tanh", 2, 3, 0)
    Y = one_hot(labels, 3)
    net.forward(X)
    net.backward(Y)
    expected = [g.copy() for g in grads(net)]
    net.forward(X)
    net.predict_proba(np.random.default_rng(1).normal(size=(R, N_FEATURES, M)))
    net.backward(Y)
    for e, g in zip(expected, grads(net), strict=True):
        np.testing.assert_array_equal(e, g)


# ---------------------------------------------------------------- a wrong derivative never trains
def wrong_tanh_derivative(a, dz, z=None):
    """A student's slip: dz *= 1 − a instead of 1 − a²."""
    np.subtract(1, a, out=a)
    dz *= a


def no_epoch(*args):
    """A callback for trainings that must not start: fails at the first epoch rather than hang."""
    raise AssertionError("an epoch ran before the derivative was checked")


@pytest.fixture
def mytanh(monkeypatch):
    """A test-local table entry with a wrong derivative, registered like any other."""
    monkeypatch.setitem(ACTIVATIONS, "mytanh", Activation(tanh, wrong_tanh_derivative))
    return "mytanh"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradcheck_catches_a_wrong_derivative(mytanh, dtype):
    X, y = make_moons(60, noise=0.2, random_state=0)
    net = Network((2, 6, 5, 1), mytanh, dtype).initialize("xavier", 0)
    errors = gradcheck(net, X.T, y)
    assert errors[1] > 1e-2 and errors[2] > 1e-2  # the layers below a wrong g′
    assert errors[3] < 1e-6  # the output layer's dZ[L] = A[L] − Y does not use g′
    with pytest.raises(GradientCheckError) as info:
        gradcheck(net, X.T, y, tolerance=1e-4)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("gradcheck: activation 'mytanh', layer ")
    assert "relative; tolerance 0.0001" in message and isinstance(info.value, ValueError)


def test_a_wrong_derivative_is_refused_before_training(mytanh):
    X, y = make_moons(60, noise=0.2, random_state=0)
    net = Network((2, 6, 1), mytanh).initialize("xavier", 0)
    before = net.W[1].copy()
    with pytest.raises(GradientCheckError, match="mytanh"):
        train(net, X.T, y, TrainingConfig(epochs=10**9, gradcheck=True), 0, callback=no_epoch)
    np.testing.assert_array_equal(net.W[1], before)
    clf = NetClassifier((6,), mytanh, epochs=10**9, gradcheck=True)
    with pytest.raises(GradientCheckError, match="mytanh"):
        clf.fit(X, y, callback=no_epoch)
    assert not hasattr(clf, "network_")
    # without the check it trains silently, which is what gradcheck=True is for
    NetClassifier((6,), mytanh, epochs=5).fit(X, y)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradcheck_passes_every_table_entry_and_samples_big_layers(activation):
    X, y = make_moons(50, noise=0.2, random_state=1)
    net = Network((2, 40, 30, 3), activation).initialize("xavier", 0)
    labels = y + (X[:, 0] > 1)  # three classes
    errors = gradcheck(net, X.T, labels, l2=0.1, max_params=120)
    assert max(errors.values()) < 1e-4
    NetClassifier((5,), activation, epochs=3, gradcheck=True).fit(X, y)
