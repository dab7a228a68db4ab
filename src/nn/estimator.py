"""NetClassifier: the network as a scikit-learn classifier (pipelines, cross-validation, search).

Fitted attributes mirror sklearn.neural_network.MLPClassifier: coefs_[i] is W[i+1]ᵀ, of shape
(fan_in, fan_out), and intercepts_[i] is b[i+1] as a vector, so weights move both ways between
the two.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .network import Network, check_dtype, layer_sizes
from .training import TrainingConfig, train


class NetClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained by gradient descent; (m, n_features) -> classes.

    hidden_layer_sizes: widths of the hidden layers, () for logistic regression (a single neuron).
    batch_size=None trains on the whole training set each step (the lecture's gradient descent).
    optimizer: "gd"/"sgd" (plain steps), "momentum" (uses momentum) or "adam" (uses beta1, beta2).
    seed fixes initialisation, shuffling and the early-stopping split.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        learning_rate=0.1,
        epochs=200,
        batch_size=None,
        optimizer="sgd",
        init="xavier",
        l2=0.0,
        momentum=0.9,
        beta1=0.9,
        beta2=0.999,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        seed=0,
        dtype="float64",
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.init = init
        self.l2 = l2
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.seed = seed
        self.dtype = dtype
        self.warm_start = warm_start

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            hidden = tuple(hidden)
        except TypeError:
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of integers >= 1, got {hidden!r}"
            ) from None
        if any(isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in hidden):
            raise ValueError(f"hidden_layer_sizes must be integers >= 1 (width), got {hidden!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {self.init!r}")
        patience = self.n_iter_no_change
        if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 1:
            raise ValueError(f"n_iter_no_change must be an integer >= 1, got {patience!r}")
        if not (isinstance(self.validation_fraction, float) and 0 < self.validation_fraction < 1):
            raise ValueError(
                f"validation_fraction must be a float in (0, 1), got {self.validation_fraction!r}"
            )
        config = TrainingConfig(
            learning_rate=self.learning_rate, epochs=self.epochs, batch_size=self.batch_size,
            optimizer=self.optimizer, l2=self.l2, momentum=self.momentum,
            beta1=self.beta1, beta2=self.beta2,
            early_stopping=bool(self.early_stopping), patience=self.n_iter_no_change,
        ).check()
        return tuple(int(n) for n in hidden), config, check_dtype(self.dtype)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, validation_data=None, callback=None):
        """Train on X (m, n_features) and labels y (m,); returns self.

        validation_data: optional (X_val, y_val) measured every epoch (and used by early stopping).
        callback(epoch, record, network) is called after every epoch.
        """
        hidden, config, dtype = self._check_params()
        warm = self._warm() and hasattr(self, "n_features_in_")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=not warm)
        X = X.astype(dtype, copy=False)
        check_classification_targets(y)
        classes, labels = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"y must hold at least 2 classes, got {classes.shape[0]} class")
        previous = getattr(self, "classes_", None)
        if self._warm() and previous is not None and not np.array_equal(classes, previous):
            raise ValueError(f"warm_start: y's classes {classes} differ from {self.classes_}")
        self.classes_ = classes

        rng = np.random.default_rng(self.seed)
        validation = None
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = validate_data(self, X_val, reset=False, dtype=[np.float64, np.float32])
            y_val = np.asarray(y_val)
            unknown = np.setdiff1d(y_val, classes)
            if unknown.size:
                raise ValueError(f"validation_data: labels {unknown} are not among y's classes")
            validation = (X_val.astype(dtype).T, np.searchsorted(classes, y_val))
        elif config.early_stopping:
            X, X_val, labels, labels_val = train_test_split(
                X, labels, test_size=self.validation_fraction, stratify=labels,
                random_state=int(rng.integers(2**31)),
            )
            validation = (X_val.T, labels_val)

        sizes = layer_sizes(X.shape[1], hidden, classes.shape[0])
        net = Network(sizes, self.activation, dtype=dtype)
        if self._warm():
            self._check_warm_shapes(sizes)
            net.set_parameters([w.T for w in self.coefs_], self.intercepts_)
        else:
            net.initialize(self.init, rng)

        self.history_ = train(net, X.T, labels, config, rng, validation, callback)
        self.network_ = net
        self.coefs_ = [net.W[l].T for l in range(1, net.L + 1)]
        self.intercepts_ = [net.b[l][:, 0] for l in range(1, net.L + 1)]
        self.loss_curve_ = list(self.history_.objective)
        self.n_iter_ = len(self.history_.epoch)
        self.validation_scores_ = list(self.history_.val_accuracy) or None
        return self

    def _warm(self):
        return bool(self.warm_start) and getattr(self, "coefs_", None) is not None

    def _check_warm_shapes(self, sizes):
        want = list(zip(sizes[:-1], sizes[1:], strict=True))
        got = [tuple(np.shape(w)) for w in self.coefs_]
        if got != want:
            raise ValueError(f"warm_start: coefs_ shapes {got} do not fit this network {want}")

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X):
        """Class probabilities. (m, n_features) -> (m, n_classes)"""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        net = self.network_
        A_L = net.predict_proba(X.astype(net.dtype, copy=False).T)
        if A_L.shape[0] == 1:
            return np.vstack([1 - A_L, A_L]).T
        return A_L.T

    def predict(self, X):
        """Predicted class labels. (m, n_features) -> (m,)"""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
