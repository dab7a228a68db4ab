"""The network itself: shapes, initialisations, numerical stability, float32, weights on disk."""

import warnings
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import pytest
from sklearn.datasets import make_moons

from netlab.nn import (
    ACTIVATIONS,
    INITIALIZERS,
    Diverged,
    NetClassifier,
    Network,
    TrainingConfig,
    evaluate,
    layer_sizes,
    load_weights,
    predicted_class,
    save_weights,
    train,
)
from netlab.nn.activations import sigmoid
from netlab.nn.losses import mean_cross_entropy, one_hot, softmax


@contextmanager
def strict_numpy():
    """Any NumPy floating-point warning (overflow, divide by zero, invalid) is an error. Underflow
    to 0 is not: it is silent by NumPy's own default, and exactly what e^(−1e4) should do."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


Z_EXTREME = np.array([-1e4, -1e3, -750.0, -40.0, -1.0, 0.0, 1.0, 40.0, 750.0, 1e3, 1e4])


# ---------------------------------------------------------------- shapes and basics
def test_layer_sizes():
    assert layer_sizes(2, (), 2) == (2, 1)  # logistic regression: one neuron
    assert layer_sizes(4, (8, 3), 2) == (4, 8, 3, 1)
    assert layer_sizes(4, (8,), 5) == (4, 8, 5)


@pytest.mark.parametrize("sizes", [(3, 1), (3, 4, 1), (3, 4, 5), (3, 6, 4, 2, 7)])
def test_forward_shapes_and_probabilities(sizes):
    rng = np.random.default_rng(0)
    net = Network(sizes, "tanh").initialize("xavier", rng)
    assert net.L == len(sizes) - 1 and net.replicas == 1
    for l in range(1, net.L + 1):
        assert net.W[l].shape == (1, sizes[l], sizes[l - 1])
        assert net.b[l].shape == (1, sizes[l], 1)
        np.testing.assert_array_equal(net.b[l], 0)
    X = rng.normal(size=(1, 3, 11))
    A = net.forward(X).copy()
    assert A.shape == (1, sizes[-1], 11)
    assert np.all((A > 0) & (A < 1))
    if sizes[-1] > 1:
        np.testing.assert_allclose(A.sum(axis=1), 1.0)
    assert net.output == ("sigmoid" if sizes[-1] == 1 else "softmax")
    np.testing.assert_allclose(net.predict_proba(X), A, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.predict_proba(X[0]), A, rtol=1e-12, atol=1e-15)  # shared X
    assert net.n_weights() == sum(a * b for a, b in pairwise(sizes))


def test_prediction_in_column_batches_matches_one_batch(monkeypatch):
    """Predictions run EVAL_COLUMNS samples at a time; the pieces fit together."""
    import netlab.nn.network as network

    rng = np.random.default_rng(0)
    net = Network((3, 6, 4), "tanh", replicas=2).initialize("xavier", [1, 2])
    X = rng.normal(size=(2, 3, 23))
    whole = net.predict_proba(X)
    monkeypatch.setattr(network, "EVAL_COLUMNS", 4)
    np.testing.assert_allclose(net.predict_proba(X), whole, rtol=1e-12, atol=1e-15)


def test_forward_is_the_lecture_equations():
    rng = np.random.default_rng(1)
    net = Network((3, 5, 4, 3), "sigmoid")
    W = [rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(3, 4))]
    b = [rng.normal(size=(5, 1)), rng.normal(size=(4, 1)), rng.normal(size=(3, 1))]
    net.set_parameters(W, b)
    X = rng.normal(size=(3, 6))
    A1 = 1 / (1 + np.exp(-(W[0] @ X + b[0])))
    A2 = 1 / (1 + np.exp(-(W[1] @ A1 + b[1])))
    Z3 = W[2] @ A2 + b[2]
    expected = np.exp(Z3) / np.exp(Z3).sum(axis=0)
    np.testing.assert_allclose(net.forward(X[None])[0], expected, rtol=1e-12)


def test_set_parameters_checks_shapes_and_copies():
    net = Network((2, 3, 1))
    W = [np.ones((3, 2)), np.ones((1, 3))]
    b = [np.zeros(3), np.zeros(1)]
    net.set_parameters(W, b)
    W[0][0, 0] = 5.0
    assert net.W[1][0, 0, 0] == 1.0
    with pytest.raises(ValueError):
        net.set_parameters([np.ones((2, 3)), np.ones((1, 3))], b)
    with pytest.raises(ValueError):
        net.set_parameters(W[:1], b[:1])


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (((2, 0, 1), "tanh"), "size"),
        (((2, -3, 1), "tanh"), "size"),
        (((2,), "tanh"), "layer_sizes"),
        (((2, 2.5, 1), "tanh"), "size"),
        (((2, True, 1), "tanh"), "size"),
        (((2, 3, 1), "mish"), "activation"),
        (((2, 3, 1), "tanh", "float64", 0), "replicas"),
    ],
)
def test_network_rejects_bad_architecture(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        Network(*args)


@pytest.mark.parametrize("dtype", ["float16", "int64", "complex128", "banana"])
def test_network_rejects_bad_dtype(dtype):
    with pytest.raises(ValueError, match="dtype"):
        Network((2, 3, 1), dtype=dtype)


def test_network_rejects_unknown_init():
    with pytest.raises(ValueError, match="init"):
        Network((2, 3, 1)).initialize("orthogonal", 0)


# ---------------------------------------------------------------- initialisations
def test_initializers_scale_and_shape():
    rng = np.random.default_rng(0)
    fan_out, fan_in = 300, 200
    W = INITIALIZERS["normal"](rng, (fan_out, fan_in))
    assert W.shape == (fan_out, fan_in)
    assert abs(W.std() - 0.01) < 0.0005 and abs(W.mean()) < 0.0005
    W = INITIALIZERS["xavier"](rng, (fan_out, fan_in))
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.02 * limit
    W = INITIALIZERS["he"](rng, (fan_out, fan_in))
    assert abs(W.std() - np.sqrt(2 / fan_in)) < 0.03 * np.sqrt(2 / fan_in)


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_initialize_is_seeded_and_leaves_global_state_alone(init):
    np.random.seed(7)
    expected_global = np.random.random()
    np.random.seed(7)
    a = Network((4, 6, 3)).initialize(init, 42)
    b = Network((4, 6, 3)).initialize(init, np.random.default_rng(42))
    c = Network((4, 6, 3)).initialize(init, 43)
    stack = Network((4, 6, 3), replicas=3).initialize(init, [43, np.random.default_rng(42), 7])
    assert np.random.random() == expected_global
    for l in (1, 2):
        np.testing.assert_array_equal(a.W[l], b.W[l])
        np.testing.assert_array_equal(stack.W[l][0], c.W[l][0])  # replica r draws from rngs[r]
        np.testing.assert_array_equal(stack.W[l][1], a.W[l][0])
        np.testing.assert_array_equal(stack.b[l], 0)
    assert not np.array_equal(a.W[1], c.W[1])


# ---------------------------------------------------------------- numerical stability
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable(dtype):
    z = Z_EXTREME.astype(dtype)
    with strict_numpy():
        a = sigmoid(z.copy())
    assert a.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1))
    assert a[0] == 0.0 and a[-1] == 1.0 and a[5] == 0.5
    assert np.all(np.diff(a) >= 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_is_stable(dtype):
    z = np.stack([Z_EXTREME, -Z_EXTREME, np.zeros_like(Z_EXTREME), Z_EXTREME / 2]).astype(dtype)
    with strict_numpy():
        a = softmax(z.copy())
    assert a.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1))
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-6)
    assert a[0, -1] == pytest.approx(1.0) and a[1, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(a[:, 5], 0.25, rtol=1e-6)  # all-zero column: uniform
    huge = np.full((3, 2), 1e4, dtype)  # equal huge logits
    with strict_numpy():
        np.testing.assert_allclose(softmax(huge), 1 / 3, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_losses_are_finite_for_saturated_outputs(dtype):
    z = Z_EXTREME.astype(dtype)[None, None, :]  # (R, n[L], m) = (1, 1, 11)
    m = z.shape[-1]
    with strict_numpy():
        a = sigmoid(z.copy())
        for y in (np.zeros((1, m), int), np.ones((1, m), int)):
            (loss,) = mean_cross_entropy(a, y)
            assert np.isfinite(loss) and loss > 0
        # maximally wrong and saturated: −log(eps), not inf
        saturated = sigmoid(np.full((1, 1, 3), 1e4, dtype))
        (worst,) = mean_cross_entropy(saturated, np.zeros((1, 3), int))
        assert worst == pytest.approx(-np.log(np.finfo(dtype).eps), rel=1e-3)
        # perfectly right and saturated: ~0
        (best,) = mean_cross_entropy(sigmoid(np.full((1, 1, 3), 1e4, dtype)), np.ones((1, 3), int))
        assert 0 <= best < 1e-6
        logits = np.stack([Z_EXTREME, -Z_EXTREME, np.zeros_like(Z_EXTREME)]).astype(dtype)[None]
        A = softmax(logits.copy())
        for k in range(3):
            (loss,) = mean_cross_entropy(A, np.full((1, m), k))
            assert np.isfinite(loss) and loss >= 0


def test_losses_match_the_textbook_formula():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.05, 0.95, (2, 1, 9))
    y = rng.integers(0, 2, (2, 9))
    expected = -np.mean(y * np.log(a[:, 0]) + (1 - y) * np.log(1 - a[:, 0]), axis=1)
    np.testing.assert_allclose(mean_cross_entropy(a, y), expected, rtol=1e-12)
    A = softmax(rng.normal(size=(2, 4, 9)))
    labels = rng.integers(0, 4, (2, 9))
    expected = [-np.mean(np.log(A[r][labels[r], np.arange(9)])) for r in range(2)]
    np.testing.assert_allclose(mean_cross_entropy(A, labels), expected, rtol=1e-12)


def test_predicted_class_and_its_tie_rule():
    """One home for "which class does an output mean": > 0.5 for one sigmoid unit (0.5 itself is
    class 0), else argmax (ties: the lower index)."""
    a = np.array([[[0.2, 0.5, 0.5000001, 0.9]]])
    np.testing.assert_array_equal(predicted_class(a), [[0, 0, 1, 1]])
    A = np.array([[[0.2, 0.4, 0.5], [0.7, 0.4, 0.1], [0.1, 0.2, 0.4]]])  # (1, 3 units, 3 samples)
    np.testing.assert_array_equal(predicted_class(A), [[1, 0, 0]])
    frame = np.array([[[0.2, 0.6], [0.5, 0.7]]])  # snapshots: (n_out, r, r), units on axis 0
    np.testing.assert_array_equal(predicted_class(frame, axis=0), [[0, 1], [0, 1]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_network_stable_for_huge_pre_activations(activation, n_out, dtype):
    """Pre-activations of order 1e4 everywhere: forward, loss and backward stay finite, silently."""
    rng = np.random.default_rng(0)
    net = Network((2, 4, n_out), activation, dtype)
    net.set_parameters(
        [rng.choice([-1.0, 1.0], (4, 2)) * 3e3, rng.choice([-1.0, 1.0], (n_out, 4))],
        [np.zeros(4), np.zeros(n_out)],
    )
    X = (rng.choice([-1.0, 1.0], (1, 2, 8)) * 1.5).astype(dtype)
    labels = rng.integers(0, max(n_out, 2), (1, 8))
    Y = one_hot(labels, n_out, dtype)
    with strict_numpy():
        A = net.forward(X)
        assert np.all(np.isfinite(A)) and A.dtype == dtype
        loss = net.loss(A, labels)
        assert np.all(np.isfinite(loss))
        net.backward(Y, l2=0.1)
        for l in (1, 2):
            assert np.all(np.isfinite(net.dW[l])) and np.all(np.isfinite(net.db[l]))
        assert np.all(np.isfinite(net.predict_proba(X)))


def test_training_at_high_learning_rate_emits_no_warnings():
    """Saturating but finite training must not spray RuntimeWarnings (pytest turns them into
    errors anyway); divergence is reported by Diverged, not by warnings."""
    X, y = make_moons(200, noise=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = NetClassifier(
            hidden_layer_sizes=(8,), activation="tanh", learning_rate=50.0, epochs=30
        ).fit(X, y)
        assert np.all(np.isfinite(clf.predict_proba(X)))


# ---------------------------------------------------------------- the train() function
def test_train_function_and_evaluate():
    X, y = make_moons(300, noise=0.2, random_state=1)
    net = Network((2, 8, 1), "tanh").initialize("xavier", 0)
    config = TrainingConfig(learning_rate=0.05, epochs=30, optimizer="adam", batch_size=32)
    (history,) = train(net, X.T, y, config, 0, validation=(X.T, y))
    assert history.epoch == list(range(1, 31))
    (loss,), (accuracy,) = evaluate(net, X.T, y)
    assert loss == history.val_loss[-1] and accuracy == history.val_accuracy[-1]
    assert history.train_loss[-1] < history.train_loss[0]
    assert accuracy > 0.85
    assert history.diverged_epoch is None and not history.stopped_early


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", 0),
        ("learning_rate", float("nan")),
        ("learning_rate", True),
        ("epochs", 0),
        ("epochs", 3.0),
        ("batch_size", 0),
        ("optimizer", "lbfgs"),
        ("l2", -1.0),
        ("momentum", 1.0),
        ("beta1", -0.1),
        ("beta2", 1.0),
        ("patience", 0),
        ("early_stopping", "yes"),
        ("gradcheck", "maybe"),
    ],
)
def test_training_config_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainingConfig(**{field: value}).check()
    net = Network((2, 3, 1)).initialize("xavier", 0)
    before = net.W[1].copy()
    with pytest.raises(ValueError, match=field):
        train(
            net,
            np.zeros((2, 5)),
            np.array([0, 1, 0, 1, 0]),
            TrainingConfig(**{"epochs": 10**9, field: value}),
            callback=no_epoch,
        )
    np.testing.assert_array_equal(net.W[1], before)


def no_epoch(*args):
    """A callback for trainings that must not start: fails at the first epoch rather than hang."""
    raise AssertionError("an epoch ran before the input was checked")


def test_training_config_takes_numpy_scalars():
    config = TrainingConfig(learning_rate=np.float32(0.1), epochs=np.int64(3),
                            batch_size=np.int32(8), l2=np.float64(0.5),
                            early_stopping=np.bool_(False)).check()
    assert config.epochs == 3 and type(config.epochs) is int and type(config.batch_size) is int
    assert config.learning_rate == pytest.approx(0.1) and type(config.learning_rate) is float
    assert config.early_stopping is False


def test_train_does_not_raise_for_divergence_but_netclassifier_does():
    X, y = make_moons(200, noise=0.2, random_state=0)
    net = Network((2, 8, 1), "relu").initialize("xavier", 0)
    (history,) = train(net, X.T, y, TrainingConfig(learning_rate=1e300, epochs=20), 0)
    assert history.diverged_epoch is not None and not np.isfinite(history.diverged_loss)
    assert len(history.epoch) == history.diverged_epoch - 1
    assert all(np.isfinite(history.train_loss))
    with pytest.raises(Diverged) as info:
        NetClassifier((8,), "relu", learning_rate=1e300, epochs=20).fit(X, y)
    assert info.value.epoch == history.diverged_epoch
    assert info.value.history.train_loss == history.train_loss


def test_early_stopping_without_validation_data_is_refused():
    net = Network((2, 3, 1)).initialize("xavier", 0)
    with pytest.raises(ValueError, match="validation"):
        train(net, np.zeros((2, 4)), np.array([0, 1, 0, 1]), TrainingConfig(early_stopping=True))


# ---------------------------------------------------------------- weights on disk
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("hidden", "n_classes"), [((), 2), ((6, 4), 2), ((5,), 3)])
def test_save_load_round_trip(tmp_path, hidden, n_classes, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = rng.integers(0, n_classes, 60)
    clf = NetClassifier(
        hidden_layer_sizes=hidden, activation="relu", epochs=5, dtype=dtype, learning_rate=0.5
    ).fit(X, y)
    net = clf.network_
    path = tmp_path / "weights.npz"
    save_weights(net, path)

    with np.load(path, allow_pickle=False) as data:
        L = net.L
        assert {f"W{l}" for l in range(1, L + 1)} | {f"b{l}" for l in range(1, L + 1)} <= set(
            data.files
        )
        assert not any(k in data.files for k in (f"W{L + 1}", f"b{L + 1}", "W0", "b0"))
        sizes = net.sizes
        for l in range(1, L + 1):
            assert data[f"W{l}"].shape == (sizes[l], sizes[l - 1])  # the lecture's shapes
            assert data[f"b{l}"].shape in {(sizes[l], 1), (sizes[l],)}
            np.testing.assert_array_equal(data[f"W{l}"], net.W[l][0])
            np.testing.assert_array_equal(np.ravel(data[f"b{l}"]), np.ravel(net.b[l]))
            np.testing.assert_array_equal(data[f"W{l}"], clf.coefs_[l - 1].T)

    loaded = load_weights(path)
    assert loaded.sizes == net.sizes and loaded.activation == "relu" and loaded.replicas == 1
    assert loaded.dtype == np.dtype(dtype)
    Xt = rng.normal(size=(4, 25)).astype(dtype)
    np.testing.assert_array_equal(loaded.predict_proba(Xt), net.predict_proba(Xt))


def test_save_one_replica_of_a_stack(tmp_path):
    net = Network((3, 5, 2, 4), "tanh", replicas=3).initialize("xavier", [0, 1, 2])
    save_weights(net, tmp_path / "w.npz", replica=2)
    loaded = load_weights(tmp_path / "w.npz")
    single = net.replica(2)
    for l in (1, 2, 3):
        np.testing.assert_array_equal(loaded.W[l], net.W[l][2:3])
        np.testing.assert_array_equal(single.b[l], net.b[l][2:3])
    single.W[1][...] = 0  # a copy: the stack is untouched
    assert np.abs(net.W[1][2]).sum() > 0


def test_load_refuses_pickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, W1=np.array([np.ones((2, 2)), "x"], dtype=object), b1=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_weights(path)
