"""NetClassifier as a scikit-learn estimator: the estimator checks, learning, dtypes, bad input,
determinism, optimizers, early stopping, warm start and divergence."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from netlab.nn import Diverged, NetClassifier, estimator


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def flat(coefs, intercepts):
    return np.concatenate([a.ravel() for a in (*coefs, *intercepts)])


# ---------------------------------------------------------------- scikit-learn's estimator checks
@parametrize_with_checks([NetClassifier(hidden_layer_sizes=(16,), epochs=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_works_in_pipeline_cross_val_and_grid_search(moons):
    X_train, _, y_train, _ = moons
    pipe = make_pipeline(
        StandardScaler(),
        NetClassifier(hidden_layer_sizes=(8,), epochs=50, optimizer="adam", learning_rate=0.05),
    )
    scores = cross_val_score(pipe, X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    grid = GridSearchCV(
        NetClassifier(epochs=300, optimizer="adam", activation="tanh"),
        {"hidden_layer_sizes": [(), (8,)], "learning_rate": [0.01, 0.05]},
        cv=2,
    )
    grid.fit(X_train, y_train)
    assert grid.best_params_["hidden_layer_sizes"] == (8,)  # the hidden layer wins on moons
    assert grid.best_score_ > 0.93
    clf = NetClassifier().set_params(epochs=7, activation="tanh")
    assert clf.get_params()["epochs"] == 7 and clf.get_params()["activation"] == "tanh"


def test_fitted_attributes_mirror_mlpclassifier(moons):
    X_train, _, y_train, _ = moons
    clf = NetClassifier(hidden_layer_sizes=(8, 5), epochs=12).fit(X_train, y_train)
    assert [c.shape for c in clf.coefs_] == [(2, 8), (8, 5), (5, 1)]
    assert [b.shape for b in clf.intercepts_] == [(8,), (5,), (1,)]
    assert clf.n_iter_ == 12 and len(clf.loss_curve_) == 12
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X_train)
    assert proba.shape == (len(X_train), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_train), clf.classes_[proba.argmax(axis=1)])


def test_string_labels_and_multiclass():
    X, y = make_blobs(n_samples=300, centers=4, random_state=0)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    clf = NetClassifier(
        hidden_layer_sizes=(10,), optimizer="adam", learning_rate=0.05, epochs=100
    ).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat", "dog"])
    assert clf.predict_proba(X).shape == (300, 4)
    assert clf.score(X, labels) > 0.85


# ---------------------------------------------------------------- it learns
def test_one_tanh_hidden_layer_learns_moons(moons):
    X_train, X_test, y_train, y_test = moons
    clf = NetClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        optimizer="adam",
        learning_rate=0.02,
        epochs=500,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95


def test_no_hidden_layer_cannot_fit_moons(moons):
    X_train, X_test, y_train, y_test = moons
    clf = NetClassifier(
        hidden_layer_sizes=(), optimizer="adam", learning_rate=0.02, epochs=500, random_state=0
    ).fit(X_train, y_train)
    assert 0.7 < clf.score(X_test, y_test) < 0.90  # a line: better than chance, not a moon


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_float32_end_to_end(moons, optimizer):
    X_train, X_test, y_train, y_test = moons
    clf = NetClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        dtype="float32",
        optimizer=optimizer,
        learning_rate=0.05,
        batch_size=64,
        l2=0.1,
        epochs=20,
    ).fit(X_train, y_train)
    assert all(W.dtype == np.float32 for W in clf.network_.W[1:])
    assert all(b.dtype == np.float32 for b in clf.network_.b[1:])
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(X_test).dtype == np.float32
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert all(math.isfinite(v) for v in clf.loss_curve_)
    assert clf.score(X_test, y_test) > 0.8


def test_float64_is_the_default(moons):
    X_train, X_test, y_train, _ = moons
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=3).fit(X_train.astype(np.float32), y_train)
    assert all(W.dtype == np.float64 for W in clf.network_.W[1:])
    assert clf.predict_proba(X_test).dtype == np.float64
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float64


def test_float32_and_float64_agree_roughly(moons):
    X_train, X_test, y_train, _ = moons
    kw = dict(hidden_layer_sizes=(8,), activation="tanh", learning_rate=0.5, epochs=30)
    p64 = NetClassifier(**kw).fit(X_train, y_train).predict_proba(X_test)
    p32 = NetClassifier(dtype="float32", **kw).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_allclose(p32, p64, atol=1e-4)


# ---------------------------------------------------------------- bad input
X_OK, Y_OK = make_blobs(n_samples=40, centers=2, n_features=3, random_state=0)

BAD_PARAMS = [
    ("activation", "softsign"),
    ("activation", None),
    ("hidden_layer_sizes", (0,)),
    ("hidden_layer_sizes", (8, -1)),
    ("hidden_layer_sizes", (2.5,)),
    ("learning_rate", 0.0),
    ("learning_rate", -0.1),
    ("learning_rate", float("nan")),
    ("learning_rate", float("inf")),
    ("learning_rate", "0.1"),
    ("epochs", 0),
    ("epochs", -3),
    ("epochs", 2.5),
    ("batch_size", 0),
    ("batch_size", -1),
    ("batch_size", 1.5),
    ("optimizer", "rmsprop"),
    ("init", "uniform"),
    ("dtype", "float16"),
    ("dtype", "int32"),
    ("l2", -1.0),
    ("l2", float("nan")),
    ("momentum", 1.5),
    ("validation_fraction", 1.5),
    ("n_iter_no_change", 0),
    ("epochs", True),
    ("learning_rate", np.bool_(True)),
    ("hidden_layer_sizes", (True, 4)),
    ("early_stopping", "no"),
    ("random_state", -1),
    ("random_state", 1.5),
    ("gradcheck", 1),
    ("warm_start", "maybe"),
]


@pytest.fixture
def no_training(monkeypatch):
    """Training must not start: the check comes first (fails at once instead of training for a
    billion epochs, with no clock involved)."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(estimator, "train", refuse)


@pytest.mark.parametrize(("name", "value"), BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS])
def test_invalid_hyperparameter_raises_naming_it_before_training(name, value, no_training):
    params = {"epochs": 10**9, "hidden_layer_sizes": (4,), name: value}
    clf = NetClassifier(**params)
    with pytest.raises(ValueError, match=name) as info:
        clf.fit(X_OK, Y_OK)
    assert not hasattr(clf, "network_")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}=") and ": must be " in message


def test_numpy_scalars_are_accepted_as_hyperparameters():
    clf = NetClassifier(hidden_layer_sizes=(np.int64(4),), learning_rate=np.float32(0.1),
                        epochs=np.int32(3), batch_size=np.int64(8), l2=np.float64(0.01),
                        random_state=np.int64(2), early_stopping=np.bool_(False))
    clf.fit(X_OK, Y_OK)
    assert clf.n_iter_ == 3 and clf.coefs_[0].shape == (3, 4)


def test_random_state_is_scikit_learns_name():
    a = NetClassifier(hidden_layer_sizes=(4,), epochs=5, random_state=7).fit(X_OK, Y_OK)
    b = NetClassifier(hidden_layer_sizes=(4,), epochs=5, random_state=7).fit(X_OK, Y_OK)
    np.testing.assert_array_equal(flat(a.coefs_, a.intercepts_), flat(b.coefs_, b.intercepts_))
    params = NetClassifier().get_params()
    assert "random_state" in params and "seed" not in params
    with pytest.raises(TypeError):
        NetClassifier(seed=0)
    NetClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=None).fit(X_OK, Y_OK)


def test_assigning_coefs_changes_predictions(moons):
    """One copy of the weights: coefs_ and intercepts_ are what predict uses (scikit-learn's
    semantics), whether assigned or written into."""
    X_train, X_test, y_train, _ = moons
    clf = NetClassifier(hidden_layer_sizes=(8,), activation="tanh", epochs=30).fit(X_train, y_train)
    before = clf.predict_proba(X_test)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X_test), 0.5)  # all-zero weights: σ(0)
    assert not np.allclose(before, 0.5)
    clf.intercepts_ = [np.zeros(8), np.array([3.0])]
    np.testing.assert_allclose(clf.predict_proba(X_test)[:, 1], 1 / (1 + np.exp(-3.0)))
    clf.coefs_[1][...] = 1.0  # writing into the view works too
    clf.intercepts_[1][...] = -4.0
    expected = 1 / (1 + np.exp(-(np.tanh(X_test @ clf.coefs_[0]).sum(axis=1) - 4.0)))
    np.testing.assert_allclose(clf.predict_proba(X_test)[:, 1], expected, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X_test), (expected > 0.5).astype(int))
    with pytest.raises(ValueError, match="coefs_"):
        clf.coefs_ = [np.zeros((3, 8)), np.zeros((8, 1))]


@pytest.mark.parametrize(
    ("X", "y", "pattern"),
    [
        (X_OK[:, 0], Y_OK, "2D array"),  # features not a matrix
        (X_OK, Y_OK[:-1], "inconsistent numbers of samples"),
        (X_OK, np.column_stack([Y_OK, Y_OK]), "y"),  # labels not a vector
        (X_OK, np.linspace(0, 1, 40), "label"),  # continuous targets
        (X_OK, np.zeros(40), "class"),  # one class
        (np.where(np.arange(120).reshape(40, 3) == 7, np.nan, X_OK), Y_OK, "X.*NaN"),
        (np.where(np.arange(120).reshape(40, 3) == 7, np.inf, X_OK), Y_OK, "X.*infinity"),
    ],
    ids=["X_1d", "n_samples_mismatch", "y_2d", "y_continuous", "y_one_class", "X_nan", "X_inf"],
)
def test_bad_data_raises_before_training(X, y, pattern, no_training):
    clf = NetClassifier(epochs=10**9, hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2-column y also warns before it fails
        with pytest.raises(ValueError, match=pattern):
            clf.fit(X, y)


def test_wrong_number_of_features_at_predict():
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=3).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 2 features"):
        clf.predict(X_OK[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(np.full_like(X_OK, np.nan))


def test_unfitted_predict_raises():
    with pytest.raises(NotFittedError):
        NetClassifier().predict(X_OK)


def test_warm_start_with_other_classes_or_shapes_raises():
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=3, warm_start=True).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="classes"):
        clf.fit(X_OK, Y_OK + 1)
    with pytest.raises(ValueError, match="features"):
        clf.fit(X_OK[:, :2], Y_OK)
    clf.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="coefs_"):
        clf.fit(X_OK, Y_OK)


# ---------------------------------------------------------------- determinism
DETERMINISM = {
    "gd": dict(optimizer="sgd", batch_size=None),
    "sgd": dict(optimizer="sgd", batch_size=32),
    "momentum": dict(optimizer="momentum", batch_size=32, learning_rate=0.05),
    "adam": dict(optimizer="adam", batch_size=32, learning_rate=0.01),
    "early_stopping": dict(
        optimizer="adam", batch_size=50, learning_rate=0.01, early_stopping=True
    ),
}


@pytest.mark.parametrize("setting", sorted(DETERMINISM))
def test_same_seed_same_weights_other_seed_other_weights(moons, setting):
    X_train, _, y_train, _ = moons
    kw = dict(hidden_layer_sizes=(8, 4), activation="relu", epochs=15, **DETERMINISM[setting])
    a = NetClassifier(random_state=3, **kw).fit(X_train, y_train)
    b = NetClassifier(random_state=3, **kw).fit(X_train, y_train)
    c = NetClassifier(random_state=4, **kw).fit(X_train, y_train)
    np.testing.assert_array_equal(flat(a.coefs_, a.intercepts_), flat(b.coefs_, b.intercepts_))
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(flat(a.coefs_, a.intercepts_), flat(c.coefs_, c.intercepts_))


def test_seed_alone_decides_shuffling(moons):
    """Same initial weights (warm start), different seeds: mini-batch order must differ."""
    X_train, _, y_train, _ = moons
    runs = []
    for seed in (0, 0, 1):
        clf = NetClassifier(
            hidden_layer_sizes=(8,), epochs=3, batch_size=16, random_state=seed, warm_start=True
        )
        clf.coefs_ = [np.full((2, 8), 0.1), np.full((8, 1), -0.1)]
        clf.intercepts_ = [np.zeros(8), np.zeros(1)]
        clf.classes_ = np.array([0, 1])
        runs.append(flat(clf.fit(X_train, y_train).coefs_, clf.intercepts_))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_global_random_state_untouched(moons):
    X_train, _, y_train, _ = moons
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    NetClassifier(hidden_layer_sizes=(4,), epochs=3, batch_size=32).fit(X_train, y_train)
    assert np.random.random() == expected


# ---------------------------------------------------------------- optimizers, early stopping
@pytest.mark.parametrize(
    "kw",
    [
        dict(optimizer="gd", learning_rate=0.5, epochs=400),
        dict(optimizer="sgd", batch_size=32, learning_rate=0.1, epochs=60),
        dict(optimizer="momentum", batch_size=32, learning_rate=0.02, momentum=0.9, epochs=60),
        dict(optimizer="adam", batch_size=32, learning_rate=0.01, epochs=60),
    ],
    ids=["gd", "sgd_minibatch", "momentum", "adam"],
)
def test_each_optimizer_reduces_the_loss(moons, kw):
    X_train, X_test, y_train, y_test = moons
    common = dict(hidden_layer_sizes=(8,), activation="tanh", random_state=0)
    # the loss of the initial weights: a single step so small it cannot move them
    untrained = NetClassifier(epochs=1, learning_rate=1e-300, **common).fit(X_train, y_train)
    initial = untrained.loss_curve_[0]
    clf = NetClassifier(**common, **kw).fit(X_train, y_train)
    curve = clf.loss_curve_
    assert len(curve) == kw["epochs"]
    assert curve[-1] < 0.6 * initial, (initial, curve)
    assert np.mean(curve[-10:]) < np.mean(curve[:10])
    assert clf.score(X_test, y_test) > untrained.score(X_test, y_test) + 0.05
    assert clf.score(X_test, y_test) > 0.85


def test_momentum_and_adam_beat_plain_sgd_at_equal_budget(moons):
    X_train, _, y_train, _ = moons
    kw = dict(hidden_layer_sizes=(8,), activation="tanh", epochs=20, batch_size=None)
    sgd = NetClassifier(optimizer="sgd", learning_rate=0.05, **kw).fit(X_train, y_train)
    mom = NetClassifier(optimizer="momentum", learning_rate=0.05, **kw).fit(X_train, y_train)
    adam = NetClassifier(optimizer="adam", learning_rate=0.05, **kw).fit(X_train, y_train)
    assert mom.loss_curve_[-1] < sgd.loss_curve_[-1]
    assert adam.loss_curve_[-1] < sgd.loss_curve_[-1]


def test_early_stopping_stops_and_restores_the_best_weights(moons):
    X_train, X_test, y_train, y_test = moons
    snapshots = {}

    def keep(epoch, record, net):
        assert set(record) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
        snapshots[epoch] = [a[0].copy() for l in range(1, net.L + 1) for a in (net.W[l], net.b[l])]

    epochs = 2000
    clf = NetClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        optimizer="adam",
        learning_rate=0.05,
        batch_size=32,
        early_stopping=True,
        n_iter_no_change=5,
        epochs=epochs,
    )
    clf.fit(X_train, y_train, validation_data=(X_test, y_test), callback=keep)
    h = clf.history_
    assert h.stopped_early
    assert clf.n_iter_ < epochs and len(h.val_loss) == clf.n_iter_ == len(snapshots)
    best = h.best_epoch
    assert isinstance(best, int) and 1 <= best <= clf.n_iter_ - 5
    assert h.val_loss[best - 1] == min(h.val_loss)
    net = clf.network_
    restored = [a[0] for l in (1, 2) for a in (net.W[l], net.b[l])]
    for got, want in zip(restored, snapshots[best], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(clf.coefs_[0].T, snapshots[best][0])  # the restored ones
    np.testing.assert_array_equal(clf.intercepts_[1], snapshots[best][3].ravel())
    proba = np.clip(clf.predict_proba(X_test)[np.arange(len(y_test)), y_test], 1e-15, 1)
    assert -np.mean(np.log(proba)) == pytest.approx(h.val_loss[best - 1], rel=1e-9)


def test_early_stopping_with_internal_validation_split(moons):
    X_train, X_test, y_train, y_test = moons
    clf = NetClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        optimizer="adam",
        learning_rate=0.05,
        batch_size=32,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        epochs=2000,
    )
    clf.fit(X_train, y_train)
    assert clf.history_.stopped_early and clf.n_iter_ < 2000
    assert clf.history_.best_epoch is not None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.score(X_test, y_test) > 0.9


def test_history_and_callback(moons):
    X_train, X_test, y_train, y_test = moons
    seen = []
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=6, learning_rate=0.3)
    clf.fit(
        X_train,
        y_train,
        validation_data=(X_test, y_test),
        callback=lambda epoch, record, net: seen.append((epoch, dict(record))),
    )
    h = clf.history_
    assert [e for e, _ in seen] == h.epoch == [1, 2, 3, 4, 5, 6]
    assert [r["train_loss"] for _, r in seen] == h.train_loss
    assert [r["val_accuracy"] for _, r in seen] == h.val_accuracy
    assert all(0 <= a <= 1 for a in h.train_accuracy + h.val_accuracy)
    assert h.train_loss == clf.loss_curve_  # no L2: the objective is the loss
    assert not h.stopped_early


# ---------------------------------------------------------------- warm start
def test_warm_start_continues_where_it_stopped(moons):
    X_train, _, y_train, _ = moons
    kw = dict(hidden_layer_sizes=(8,), activation="tanh", learning_rate=0.3)
    once = NetClassifier(epochs=40, **kw).fit(X_train, y_train)
    warm = NetClassifier(epochs=20, warm_start=True, **kw).fit(X_train, y_train)
    first = list(warm.loss_curve_)
    warm.fit(X_train, y_train)
    second = warm.loss_curve_
    assert second[0] < first[0] - 0.05  # not re-initialised
    assert second[0] == pytest.approx(first[-1], abs=0.02)  # one step further
    np.testing.assert_allclose(first + second, once.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(
        flat(warm.coefs_, warm.intercepts_),
        flat(once.coefs_, once.intercepts_),
        rtol=1e-12,
        atol=1e-14,
    )


def test_without_warm_start_fit_starts_afresh(moons):
    X_train, _, y_train, _ = moons
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=10)
    first = clf.fit(X_train, y_train).loss_curve_
    second = clf.fit(X_train, y_train).loss_curve_
    assert first == second


# ---------------------------------------------------------------- divergence
def test_huge_learning_rate_raises_diverged(moons):
    X_train, _, y_train, _ = moons
    clf = NetClassifier(hidden_layer_sizes=(8,), activation="relu", learning_rate=1e300, epochs=50)
    with pytest.raises(Diverged) as info:
        clf.fit(X_train, y_train)
    err = info.value
    assert isinstance(err.epoch, int) and 1 <= err.epoch < 50
    # the curve stops at the last finite epoch; the non-finite figure is err.loss
    assert err.history.epoch == list(range(1, err.epoch))
    assert err.history.diverged_epoch == err.epoch
    assert all(math.isfinite(v) for v in err.history.train_loss + err.history.objective)
    assert not math.isfinite(err.loss)
    assert isinstance(err, RuntimeError) and str(err.epoch) in str(err)
    assert not hasattr(clf, "network_")  # no NaN model left behind
    with pytest.raises(NotFittedError):
        clf.predict(X_train)


@pytest.mark.parametrize("epochs", [1, 2, 3])
@pytest.mark.parametrize("activation", ["relu", "identity", "tanh"])
def test_never_a_silent_nan_model(moons, activation, epochs):
    """Whatever the epoch count, a huge step either raises Diverged or leaves a finite model —
    including when the very last update is the one that blows up."""
    X_train, X_test, y_train, _ = moons
    clf = NetClassifier(
        hidden_layer_sizes=(8,), activation=activation, learning_rate=1e300, epochs=epochs
    )
    try:
        clf.fit(X_train, y_train)
    except Diverged as err:
        assert 1 <= err.epoch <= epochs
        return
    assert np.isfinite(flat(clf.coefs_, clf.intercepts_)).all()
    with np.errstate(all="ignore"):
        proba = clf.predict_proba(X_test)
    assert np.isfinite(proba).all(), "fit returned a model that predicts NaN"
