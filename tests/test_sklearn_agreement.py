"""From the same weights, full-batch gradient descent agrees with scikit-learn's MLPClassifier."""

import warnings
from itertools import pairwise

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from netlab.nn import NetClassifier

N_EPOCHS = 10
LEARNING_RATE = 0.3
HIDDEN = (6, 4)
ACTIVATIONS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "identity": "identity"}


def dataset(n_classes, n=60, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def initial_weights(n_features, n_out, hidden=HIDDEN, seed=1):
    """coefs_ (fan_in, fan_out) and intercepts_ in scikit-learn's layout, drawn by hand."""
    rng = np.random.default_rng(seed)
    sizes = (n_features, *hidden, n_out)
    coefs = [rng.normal(0, 0.6, (p, n)) for p, n in pairwise(sizes)]
    intercepts = [rng.normal(0, 0.3, n) for n in sizes[1:]]
    return coefs, intercepts


def sklearn_run(X, y, activation, coefs, intercepts, alpha, hidden=HIDDEN):
    """N epochs of scikit-learn's plain full-batch gradient descent from the given weights."""
    mlp = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver="sgd",
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=alpha,
        batch_size=X.shape[0],
        shuffle=False,
        learning_rate="constant",
        learning_rate_init=LEARNING_RATE,
        max_iter=1,
        tol=0.0,
        n_iter_no_change=10**9,
        early_stopping=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)  # sets up every fitted attribute; the weights are replaced below
        mlp.coefs_ = [c.copy() for c in coefs]
        mlp.intercepts_ = [b.copy() for b in intercepts]
        mlp.loss_curve_ = []
        mlp.set_params(warm_start=True, max_iter=N_EPOCHS)
        mlp.fit(X, y)
    assert len(mlp.loss_curve_) == N_EPOCHS
    return mlp


def ours_run(X, y, activation, coefs, intercepts, l2, hidden=HIDDEN, set_classes=True):
    clf = NetClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        optimizer="sgd",
        batch_size=None,
        l2=l2,
        learning_rate=LEARNING_RATE,
        epochs=N_EPOCHS,
        warm_start=True,
    )
    clf.coefs_ = [c.copy() for c in coefs]
    clf.intercepts_ = [b.copy() for b in intercepts]
    if set_classes:
        clf.classes_ = np.unique(y)
    return clf.fit(X, y)


def assert_agree(ours, theirs, start_coefs):
    assert ours.n_iter_ == N_EPOCHS
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert len(ours.coefs_) == len(theirs.coefs_)
    for a, b, start in zip(ours.coefs_, theirs.coefs_, start_coefs, strict=True):
        assert a.shape == b.shape
        assert np.abs(b - start).max() > 1e-3, "the weights must actually have moved"
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    for a, b in zip(ours.intercepts_, theirs.intercepts_, strict=True):
        np.testing.assert_allclose(np.ravel(a), b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9, atol=1e-12)
    assert ours.loss_curve_[-1] < ours.loss_curve_[0]


@pytest.mark.parametrize("alpha", [0.0, 0.5], ids=["no_l2", "l2"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_full_batch_gd_matches_mlpclassifier(activation, n_classes, alpha):
    X, y = dataset(n_classes)
    n_out = 1 if n_classes == 2 else n_classes
    coefs, intercepts = initial_weights(X.shape[1], n_out)
    theirs = sklearn_run(X, y, ACTIVATIONS[activation], coefs, intercepts, alpha)
    ours = ours_run(X, y, activation, coefs, intercepts, alpha)
    assert_agree(ours, theirs, coefs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_no_hidden_layer_matches_mlpclassifier(n_classes):
    """Logistic / softmax regression (a single layer of neurons) agrees too."""
    X, y = dataset(n_classes, n=80)
    n_out = 1 if n_classes == 2 else n_classes
    coefs, intercepts = initial_weights(X.shape[1], n_out, hidden=())
    theirs = sklearn_run(X, y, "identity", coefs, intercepts, 0.0, hidden=())
    ours = ours_run(X, y, "tanh", coefs, intercepts, 0.0, hidden=())
    assert_agree(ours, theirs, coefs)


def test_warm_start_from_coefs_copied_from_mlpclassifier():
    """warm_start continues from coefs_/intercepts_ copied from a fitted MLPClassifier — only those
    two attributes — and the fitted estimator is complete afterwards."""
    X, y = dataset(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(
            hidden_layer_sizes=(5,), activation="tanh", max_iter=20, random_state=0
        ).fit(X, y)
    clf = NetClassifier(
        hidden_layer_sizes=(5,), activation="tanh", epochs=1, learning_rate=1e-12, warm_start=True
    )
    clf.coefs_ = [c.copy() for c in mlp.coefs_]
    clf.intercepts_ = [b.copy() for b in mlp.intercepts_]
    clf.fit(X, y)
    for a, b in zip(clf.coefs_, mlp.coefs_, strict=True):  # a step of 1e-12 barely moves them
        np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(X), mlp.predict_proba(X), atol=1e-9)
    np.testing.assert_array_equal(clf.classes_, mlp.classes_)
    assert clf.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_full_batch_momentum_and_adam_match_mlpclassifier(optimizer, n_classes):
    """Classical momentum and Adam follow the same update rules as scikit-learn's solvers."""
    X, y = dataset(n_classes)
    n_out = 1 if n_classes == 2 else n_classes
    coefs, intercepts = initial_weights(X.shape[1], n_out)
    lr = 0.05
    solver = (
        dict(solver="adam")
        if optimizer == "adam"
        else dict(solver="sgd", momentum=0.9, nesterovs_momentum=False)
    )
    mlp = MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        activation="tanh",
        alpha=0.1,
        batch_size=X.shape[0],
        shuffle=False,
        learning_rate="constant",
        learning_rate_init=lr,
        max_iter=1,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
        **solver,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
        mlp.coefs_ = [c.copy() for c in coefs]
        mlp.intercepts_ = [b.copy() for b in intercepts]
        mlp.loss_curve_ = []
        mlp.set_params(warm_start=True, max_iter=N_EPOCHS)
        mlp.fit(X, y)  # a fresh fit: the optimizer's state starts at zero again
    clf = NetClassifier(
        hidden_layer_sizes=HIDDEN,
        activation="tanh",
        optimizer=optimizer,
        momentum=0.9,
        batch_size=None,
        l2=0.1,
        learning_rate=lr,
        epochs=N_EPOCHS,
        warm_start=True,
    )
    clf.coefs_ = [c.copy() for c in coefs]
    clf.intercepts_ = [b.copy() for b in intercepts]
    clf.classes_ = np.unique(y)
    clf.fit(X, y)
    assert_agree(clf, mlp, coefs)
