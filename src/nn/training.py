"""Training: gradient descent over epochs, full batch or seeded mini-batches, with a hook per epoch.

One epoch = one pass over the training set. For each batch: forward propagation, the loss,
backward propagation, one optimizer step. The training loss and accuracy of an epoch are those of
the forward passes made during it (averaged over its batches, as scikit-learn's ``loss_curve_``);
the validation figures are measured after the epoch's last step.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .optimizers import OPTIMIZERS, make_optimizer


class Diverged(RuntimeError):
    """Training produced a non-finite loss at ``epoch``; ``history`` holds the curve up to there."""

    def __init__(self, epoch, history, loss):
        super().__init__(f"training diverged at epoch {epoch}: loss is {loss}")
        self.epoch, self.history, self.loss = epoch, history, loss


@dataclass
class History:
    """Per-epoch curves; val_* stay empty without validation data."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    objective: list = field(default_factory=list)  # train loss + L2 penalty (sklearn's loss_curve_)
    stopped_early: bool = False
    best_epoch: int | None = None

    def last(self):
        """The last epoch's figures as a dict (metric -> value)."""
        keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
        return {k: getattr(self, k)[-1] for k in keys if getattr(self, k)}


def one_hot(labels, n_out):
    """Integer labels (m,) -> targets Y (n_out, m): a 0/1 row for one sigmoid unit, else one-hot."""
    labels = np.asarray(labels)
    if n_out == 1:
        return labels.reshape(1, -1).astype(np.float64)
    Y = np.zeros((n_out, labels.shape[0]))
    Y[labels, np.arange(labels.shape[0])] = 1.0
    return Y


def n_correct(A_L, labels):
    """How many columns of A[L] (n[L], m) predict the integer label (m,)."""
    if A_L.shape[0] == 1:
        return int(np.count_nonzero((A_L[0] > 0.5) == labels))
    return int(np.count_nonzero(A_L.argmax(axis=0) == labels))


def evaluate(net, X, labels):
    """(loss, accuracy) of the network on X (n[0], m) with integer labels (m,)."""
    A_L = net.predict_proba(X)
    Y = one_hot(labels, net.sizes[-1]).astype(net.dtype, copy=False)
    return net.loss(A_L, Y), n_correct(A_L, labels) / X.shape[1]


@dataclass
class TrainingConfig:
    """How to train; validated by check()."""

    learning_rate: float = 0.1
    epochs: int = 200
    batch_size: int | None = None  # None: the whole training set (the lecture's gradient descent)
    optimizer: str = "sgd"
    l2: float = 0.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    early_stopping: bool = False
    patience: int = 10
    tol: float = 1e-4

    def check(self):
        """Raise ValueError naming the first invalid field and what is allowed."""
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not (0 < lr < math.inf):
            raise ValueError(f"learning_rate must be a finite number > 0, got {lr!r}")
        for name in ("epochs", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        bs = self.batch_size
        bad_int = isinstance(bs, bool) or not isinstance(bs, int | np.integer)
        if bs is not None and (bad_int or bs < 1):
            raise ValueError(f"batch_size must be None (full batch) or an integer >= 1, got {bs!r}")
        if self.optimizer not in OPTIMIZERS:
            allowed = sorted(OPTIMIZERS)
            raise ValueError(f"optimizer must be one of {allowed}, got {self.optimizer!r}")
        if not (isinstance(self.l2, int | float) and 0 <= self.l2 < math.inf):
            raise ValueError(f"l2 must be a finite number >= 0, got {self.l2!r}")
        for name in ("momentum", "beta1", "beta2"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 <= v < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {v!r}")
        return self


def train(net, X, labels, config, rng=None, validation=None, callback=None):
    """Train net in place on X (n[0], m) with integer labels (m,); returns the History.

    validation: optional (X_val (n[0], m_val), labels_val (m_val,)), measured after every epoch.
    callback(epoch, record, net): called after every epoch with that epoch's figures.
    Raises Diverged as soon as an epoch's loss is not finite.
    """
    config.check()
    if config.early_stopping and validation is None:
        raise ValueError("early_stopping needs validation data")
    rng = np.random.default_rng(rng)
    m = X.shape[1]
    dtype = net.dtype
    X = X.astype(dtype, copy=False)
    labels = np.asarray(labels)
    Y = one_hot(labels, net.sizes[-1]).astype(dtype)
    batch = m if config.batch_size is None else min(int(config.batch_size), m)
    full_batch = batch == m
    if not full_batch:
        X_shuffled, Y_shuffled = np.empty_like(X), np.empty_like(Y)
        labels_shuffled = np.empty_like(labels)
    optimizer = make_optimizer(
        config.optimizer, net.parameters(), config.learning_rate,
        momentum=config.momentum, beta1=config.beta1, beta2=config.beta2,
    )
    grads = net.gradients()
    history = History()
    best_loss, best_params, waited = math.inf, None, 0

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, config.epochs + 1):
            if full_batch:
                batches = ((X, Y, labels),)
            else:
                perm = rng.permutation(m)
                np.take(X, perm, axis=1, out=X_shuffled)
                np.take(Y, perm, axis=1, out=Y_shuffled)
                np.take(labels, perm, out=labels_shuffled)
                batches = (
                    (X_shuffled[:, s : s + batch], Y_shuffled[:, s : s + batch],
                     labels_shuffled[s : s + batch])
                    for s in range(0, m, batch)
                )
            total_loss = total_objective = 0.0
            correct = 0
            for Xb, Yb, lb in batches:
                mb = Xb.shape[1]
                A_L = net.forward(Xb)
                loss = net.loss(A_L, Yb)
                objective = loss + (net.loss_penalty(mb, config.l2) if config.l2 else 0.0)
                total_loss += loss * mb
                total_objective += objective * mb
                correct += n_correct(A_L, lb)
                net.backward(Yb, config.l2)
                optimizer.step(grads)
            train_loss = total_loss / m
            history.epoch.append(epoch)
            history.train_loss.append(train_loss)
            history.objective.append(total_objective / m)
            history.train_accuracy.append(correct / m)
            if not math.isfinite(total_objective):
                raise Diverged(epoch, history, train_loss)
            if validation is not None:
                val_loss, val_accuracy = evaluate(net, *validation)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
                if not math.isfinite(val_loss):
                    raise Diverged(epoch, history, val_loss)
            if callback is not None:
                callback(epoch, history.last(), net)
            if config.early_stopping:
                if val_loss < best_loss - config.tol:
                    best_loss, waited, history.best_epoch = val_loss, 0, epoch
                    best_params = [p.copy() for p in net.parameters()]
                else:
                    waited += 1
                    if waited >= config.patience:
                        history.stopped_early = True
                        break
        if validation is None or not history.val_loss:  # the last step is checked here
            final_loss = evaluate(net, X, labels)[0]
            if not math.isfinite(final_loss):
                raise Diverged(epoch, history, final_loss)
    if config.early_stopping and best_params is not None:
        for p, best in zip(net.parameters(), best_params, strict=True):
            p[...] = best
    return history
