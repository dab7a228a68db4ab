"""NetClassifier: the network as a scikit-learn classifier (pipelines, cross-validation, search).

Fitted attributes mirror sklearn.neural_network.MLPClassifier: coefs_[i] is W[i+1]ᵀ, of shape
(fan_in, fan_out), and intercepts_[i] is b[i+1] as a vector, so weights move both ways between
the two. They are views of the one copy of the weights, network_'s: assigning coefs_ or
intercepts_ (or writing into them) changes what predict returns.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .constraints import DEFAULTS, check
from .losses import predicted_class
from .network import Network, layer_sizes
from .training import Diverged, TrainingConfig, train


class NetClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained by gradient descent; (m, n_features) -> classes.

    hidden_layer_sizes: widths of the hidden layers, () for logistic regression (a single neuron).
    The lecture's names stay; MLPClassifier's for the same things are
        learning_rate (MLPClassifier: learning_rate_init), epochs (max_iter), l2 (alpha),
        optimizer "gd"/"sgd"/"momentum"/"adam" (solver "sgd"/"sgd"/"sgd"/"adam"),
        n_iter_no_change and validation_fraction (the same), init (no counterpart).
    batch_size=None trains on the whole training set each step (the lecture's gradient descent).
    optimizer: "gd"/"sgd" (plain steps), "momentum" (uses momentum) or "adam" (uses beta1, beta2).
    random_state (an integer, or None for fresh entropy) fixes initialisation, shuffling and the
    early-stopping split. gradcheck=True checks backward propagation against finite differences
    before training and refuses to train (GradientCheckError) if they disagree.
    Every value is checked by netlab.nn.constraints when fit is called.
    """

    def __init__(
        self,
        hidden_layer_sizes=DEFAULTS["hidden_layer_sizes"],
        activation=DEFAULTS["activation"],
        learning_rate=DEFAULTS["learning_rate"],
        epochs=DEFAULTS["epochs"],
        batch_size=DEFAULTS["batch_size"],
        optimizer=DEFAULTS["optimizer"],
        init=DEFAULTS["init"],
        l2=DEFAULTS["l2"],
        momentum=DEFAULTS["momentum"],
        beta1=DEFAULTS["beta1"],
        beta2=DEFAULTS["beta2"],
        early_stopping=DEFAULTS["early_stopping"],
        validation_fraction=DEFAULTS["validation_fraction"],
        n_iter_no_change=DEFAULTS["n_iter_no_change"],
        random_state=DEFAULTS["random_state"],
        dtype=DEFAULTS["dtype"],
        warm_start=DEFAULTS["warm_start"],
        gradcheck=DEFAULTS["gradcheck"],
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
        self.random_state = random_state
        self.dtype = dtype
        self.warm_start = warm_start
        self.gradcheck = gradcheck

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """(hidden sizes, TrainingConfig, dtype, the other checked values); HyperparameterError."""
        hidden = check("hidden_layer_sizes", self.hidden_layer_sizes)
        names = ("activation", "init", "validation_fraction", "n_iter_no_change", "random_state",
                 "warm_start")
        values = {name: check(name, getattr(self, name)) for name in names}
        config = TrainingConfig(
            learning_rate=self.learning_rate, epochs=self.epochs, batch_size=self.batch_size,
            optimizer=self.optimizer, l2=self.l2, momentum=self.momentum,
            beta1=self.beta1, beta2=self.beta2, early_stopping=self.early_stopping,
            patience=values["n_iter_no_change"], gradcheck=self.gradcheck,
        ).check()
        return hidden, config, check("dtype", self.dtype), values

    # ------------------------------------------------------------------ the weights: one copy
    @property
    def coefs_(self):
        """[W[l]ᵀ (fan_in, fan_out)]: views of network_'s weights (before fit: what was set)."""
        net = self.__dict__.get("network_")
        if net is not None:
            return [W[0].T for W in net.W[1:]]
        if self.__dict__.get("_coefs") is None:
            raise AttributeError("'NetClassifier' object has no attribute 'coefs_'")
        return self._coefs

    @coefs_.setter
    def coefs_(self, coefs):
        net = self.__dict__.get("network_")
        if net is None:
            self._coefs = [np.array(c) for c in coefs]
            return
        coefs = list(coefs)
        if [np.shape(c) for c in coefs] != [W[0].T.shape for W in net.W[1:]]:
            raise ValueError(f"coefs_ shapes {[np.shape(c) for c in coefs]} do not fit the "
                             f"fitted network {[W[0].T.shape for W in net.W[1:]]}")
        for W, c in zip(net.W[1:], coefs, strict=True):
            W[0] = np.asarray(c).T

    @property
    def intercepts_(self):
        """[b[l] (fan_out,)]: views of network_'s biases (before fit: what was assigned)."""
        net = self.__dict__.get("network_")
        if net is not None:
            return [b[0, :, 0] for b in net.b[1:]]
        if self.__dict__.get("_intercepts") is None:
            raise AttributeError("'NetClassifier' object has no attribute 'intercepts_'")
        return self._intercepts

    @intercepts_.setter
    def intercepts_(self, intercepts):
        net = self.__dict__.get("network_")
        if net is None:
            self._intercepts = [np.array(v) for v in intercepts]
            return
        intercepts = list(intercepts)
        if [np.size(v) for v in intercepts] != [b.shape[1] for b in net.b[1:]]:
            raise ValueError(f"intercepts_ sizes {[np.size(v) for v in intercepts]} do not fit the "
                             f"fitted network {[b.shape[1] for b in net.b[1:]]}")
        for b, v in zip(net.b[1:], intercepts, strict=True):
            b[0, :, 0] = np.ravel(v)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, validation_data=None, callback=None, probe=None):
        """Train on X (m, n_features) and labels y (m,); returns self.

        validation_data: optional (X_val, y_val) measured every epoch (and used by early stopping).
        callback(epoch, record, network) is called after every epoch with that epoch's figures
        (a dict metric -> float) and the network (a stack of one), but not for the epoch at which
        the loss became non-finite; probe(epoch) -> bool adds the training dynamics to the record
        at the epochs it chooses (see netlab.nn.dynamics). Raises Diverged if the loss becomes
        non-finite.
        """
        hidden, config, dtype, values = self._check_params()
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

        rng = np.random.default_rng(values["random_state"])
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
                X, labels, test_size=values["validation_fraction"], stratify=labels,
                random_state=int(rng.integers(2**31)),
            )
            validation = (X_val.T, labels_val)

        sizes = layer_sizes(X.shape[1], hidden, classes.shape[0])
        net = Network(sizes, values["activation"], dtype=dtype)
        if self._warm():
            self._check_warm_shapes(sizes)
            net.set_parameters([np.asarray(w).T for w in self.coefs_], self.intercepts_)
        else:
            net.initialize(values["init"], rng)

        each_epoch = None
        if callback is not None:
            def each_epoch(epoch, record, network, active):
                if active[0]:  # not at the epoch it diverged: the callback sees finite figures
                    callback(epoch, {k: float(v[0]) for k, v in record.items()}, network)

        (history,) = train(net, X.T, labels, config, [rng], validation, each_epoch, probe)
        if history.diverged_epoch is not None:
            raise Diverged(history.diverged_epoch, history, history.diverged_loss)
        self.network_ = net
        self.__dict__.pop("_coefs", None)
        self.__dict__.pop("_intercepts", None)
        self.history_ = history
        self.loss_curve_ = list(history.objective)
        self.n_iter_ = len(history.epoch)
        self.validation_scores_ = list(history.val_accuracy) or None
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
        A_L = net.predict_proba(X.astype(net.dtype, copy=False).T)[0]
        if A_L.shape[0] == 1:
            return np.vstack([1 - A_L, A_L]).T
        return A_L.T

    def predict(self, X):
        """Predicted class labels. (m, n_features) -> (m,)"""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        net = self.network_
        A_L = net.predict_proba(X.astype(net.dtype, copy=False).T)[0]
        return self.classes_[predicted_class(A_L, axis=0)]
