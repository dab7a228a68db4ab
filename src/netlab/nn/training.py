"""Training: gradient descent over epochs, full batch or seeded mini-batches, R replicas at once.

One epoch = one pass over the training set. For each batch: forward propagation, the loss,
backward propagation, one optimizer step. The training loss and accuracy of an epoch are those of
the forward passes made during it (summed over its batches and divided by m, as scikit-learn's
``loss_curve_``); the validation figures are measured after the epoch's last step.

Replicas train together: each has its own data (X (R, n[0], m)), initial weights, generator for
the mini-batch order, early stopping and divergence, and each one's weights and figures are bit for
bit those of the same replica trained alone (see network.py). Replicas are processed in groups
sized by the network's shape (network.replicas_per_chunk: all at once for small networks, one at a
time where one replica's batch buffers alone are large), which changes no replica's numbers.
The learning rate, L2 penalty and the optimizer's numbers may differ between replicas (PER_REPLICA:
a sweep over them is trained as one stack, each replica as alone with its own values).

Why one file of ~360 lines: the training loop and what every epoch does (batches, bookkeeping,
early stopping, divergence per replica) are one procedure.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import dynamics
from .constraints import DEFAULTS, check
from .gradcheck import TOLERANCE, gradcheck
from .losses import log_sum, one_hot, predicted_class, true_class_probability
from .network import augmented, chunks, generators, replicas_per_chunk
from .optimizers import make_optimizer


class Diverged(RuntimeError):
    """Training produced a non-finite loss at ``epoch``; ``history`` holds the curve up to the last
    finite epoch."""

    def __init__(self, epoch, history, loss):
        super().__init__(f"training diverged at epoch {epoch}: loss is {loss}")
        self.epoch, self.history, self.loss = epoch, history, loss


@dataclass
class History:
    """One replica's per-epoch curves; val_* stay empty without validation data.

    A replica whose loss became non-finite has diverged_epoch set (and diverged_loss, the figure
    that was not finite); its curves stop at the last finite epoch. One stopped early has
    stopped_early and best_epoch, the epoch whose weights it ends with."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    objective: list = field(default_factory=list)  # train loss + L2 penalty (sklearn's loss_curve_)
    stopped_early: bool = False
    best_epoch: int | None = None
    diverged_epoch: int | None = None
    diverged_loss: float | None = None

    def last(self):
        """The last epoch's figures as a dict (metric -> value)."""
        keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
        return {k: getattr(self, k)[-1] for k in keys if getattr(self, k)}


# the fields of TrainingConfig that may hold one value per replica; every use is elementwise
PER_REPLICA = ("learning_rate", "l2", "momentum", "beta1", "beta2")


@dataclass
class TrainingConfig:
    """How to train; validated by check() (each field's rule is in constraints.CONSTRAINTS).
    A PER_REPLICA field may be a sequence of R values, replica r training with the r-th."""

    learning_rate: float = DEFAULTS["learning_rate"]
    epochs: int = DEFAULTS["epochs"]
    batch_size: int | None = DEFAULTS["batch_size"]  # None: the whole training set (lecture's gd)
    optimizer: str = DEFAULTS["optimizer"]
    l2: float = DEFAULTS["l2"]
    momentum: float = DEFAULTS["momentum"]
    beta1: float = DEFAULTS["beta1"]
    beta2: float = DEFAULTS["beta2"]
    early_stopping: bool = DEFAULTS["early_stopping"]
    patience: int = DEFAULTS["patience"]
    tol: float = DEFAULTS["tol"]
    gradcheck: bool = DEFAULTS["gradcheck"]  # check backprop against finite differences first

    def check(self):
        """Raise HyperparameterError (a ValueError) naming the first invalid field and what is
        allowed; NumPy scalars become plain Python values, a per-replica field a tuple (or its
        one value, when every replica's is the same)."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in PER_REPLICA and isinstance(value, list | tuple | np.ndarray):
                value = tuple(check(name, v) for v in (value.ravel().tolist() if isinstance(
                    value, np.ndarray) else value))
                value = value[0] if len(set(value)) == 1 else value
            else:
                value = check(name, value)
            setattr(self, name, value)
        if isinstance(self.l2, tuple) and 0 in self.l2:
            # adding (0/m) W to a replica trained without a penalty can flip the sign of a zero:
            # not bit for bit the run it would be alone
            raise ValueError(f"l2 per replica must be all 0 or none 0, got {list(self.l2)}")
        return self

    def replicas(self):
        """How many replicas the per-replica fields are for (1 when none is per replica)."""
        sizes = {len(getattr(self, n)) for n in PER_REPLICA if isinstance(getattr(self, n), tuple)}
        if len(sizes) > 1:
            raise ValueError(f"per-replica values of different lengths: {sorted(sizes)}")
        return sizes.pop() if sizes else 1


def per_replica(value, rows=slice(None)):
    """A PER_REPLICA value as the arithmetic uses it, for replicas `rows`: the number when it is
    shared, else an array (R, 1, 1) that broadcasts over each replica's arrays."""
    if not isinstance(value, tuple):
        return value
    return np.array(value, dtype=float)[rows].reshape(-1, 1, 1)


def stacked_labels(labels, replicas, m=None):
    """Integer labels (R, m), from (R, m) or (m,) shared by every replica."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = np.broadcast_to(labels, (replicas, labels.shape[0]))
    if labels.ndim != 2 or labels.shape[0] != replicas or (m is not None and labels.shape[1] != m):
        raise ValueError(
            f"labels must be ({replicas}, {m or 'm'}) or shared (m,), got {labels.shape}")
    return np.ascontiguousarray(labels, dtype=np.intp)


class _Targets:
    """What the loss, accuracy and backward propagation need of a set of labels, per replica."""

    def __init__(self, labels, n_out, dtype):
        self.labels = labels  # (R, m) integers
        self.Y = one_hot(labels, n_out, dtype)  # (R, n[L], m): dZ[L] = A[L] − Y
        self.complement = (1 - labels).astype(dtype) if n_out == 1 else None  # 1 − y, sigmoid only

    def columns(self, start, stop, rows=slice(None)):
        """The same for samples start…stop−1 of replicas `rows` (views)."""
        part = object.__new__(_Targets)
        part.labels = self.labels[rows, start:stop]
        part.Y = self.Y[rows, :, start:stop]
        part.complement = None if self.complement is None else self.complement[rows, start:stop]
        return part


def figures(A_L, targets):
    """(Σ log p of the true class, number correct) per replica: the loss is −Σ log p / m.
    -> (R,) float64, (R,) int"""
    correct = np.add.reduce(predicted_class(A_L) == targets.labels, axis=-1)
    p = true_class_probability(A_L, targets.labels, complement=targets.complement)
    return log_sum(p), correct


def evaluate(net, X, labels):
    """(loss, accuracy) per replica of the network on X (R, n[0], m) or shared (n[0], m), with
    integer labels (R, m) or shared (m,). -> (R,), (R,)"""
    X1 = augmented(X, net.replicas, net.sizes[0], net.dtype)
    m = X1.shape[-1]
    A_L = net._predict(X1, np.empty((net.replicas, net.sizes[-1], m), net.dtype))
    targets = _Targets(stacked_labels(labels, net.replicas, m), net.sizes[-1], net.dtype)
    total, correct = figures(A_L, targets)
    return total / -m, correct / m


class _Group:
    """A group of replicas trained together: a view of the network, its optimizer, its batches and
    its columns of the curves."""

    def __init__(self, net, rows, config, batches, curves):
        self.net, self.rows = net, rows
        self.optimizer = make_optimizer(config.optimizer, net.parameters(),
                                        *(per_replica(getattr(config, k), rows) for k in
                                          ("learning_rate", "momentum", "beta1", "beta2")))
        self.l2 = per_replica(config.l2, rows)  # λ, in dW[l] += (λ/m) W[l]: a number or (R, 1, 1)
        self.penalty = self.l2 if np.ndim(self.l2) == 0 else self.l2[:, 0, 0]  # λ in the objective
        self.penalised = bool(np.any(self.penalty))
        self.grads = net.gradients()
        self.batches = [(net._cache(X1.shape[-1]), X1, X1.transpose(0, 2, 1), targets)
                        for X1, targets in batches]
        self.curves = (curves.train_loss[:, rows], curves.train_accuracy[:, rows],
                       curves.objective[:, rows])

    def epoch(self, i, m, probe):
        """Epoch i + 1: one pass over the batches; writes row i of the group's training loss,
        accuracy and objective (summed over the batches, / m). probe: a dict of statistics to
        fill (arrays (R,) of which the group fills its rows), or None."""
        net, rows, penalised = self.net, self.rows, self.penalised
        l2 = self.l2 if penalised else 0.0
        last = len(self.batches) - 1
        for b, (cache, X1, X1T, targets) in enumerate(self.batches):
            A_L = net._forward(cache, X1, X1T)
            probing = probe is not None and b == last
            if probing:  # before backward propagation overwrites the activations
                dynamics.activation_statistics(net, cache, probe, rows)
            batch_loss, batch_correct = figures(A_L, targets)  # Σ log p: the loss is −Σ log p / m
            if penalised:  # m_b · (λ / 2m_b) Σ ‖W‖²: the penalty's share of the summed objective
                batch_objective = batch_loss - 0.5 * self.penalty * net.squared_weights()
            if b == 0:
                loss, correct = batch_loss, batch_correct
                objective = batch_objective if penalised else None
            else:
                loss, correct = loss + batch_loss, correct + batch_correct
                objective = objective + batch_objective if penalised else None
            net._backward(cache, targets.Y, l2, zero_rows=probing)
            if probing:
                dynamics.gradient_statistics(net, probe, rows)
            self.optimizer.step(self.grads)
        if probe is not None:
            dynamics.weight_statistics(net, probe, rows)
        train_loss, train_accuracy, train_objective = self.curves
        np.divide(loss, -m, out=train_loss[i])  # −Σ log p / m
        np.divide(correct, m, out=train_accuracy[i])
        if penalised:
            np.divide(objective, -m, out=train_objective[i])


class _Curves:
    """Every replica's figures, preallocated: one row per epoch, one column per replica."""

    NAMES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "objective")

    def __init__(self, epochs, replicas, l2):
        for name in self.NAMES:
            setattr(self, name, np.full((epochs, replicas), np.nan))
        if not l2:
            self.objective = self.train_loss  # no penalty: the objective is the loss

    def history(self, r, length, validation):
        """Replica r's History over its first `length` epochs."""
        h = History(epoch=list(range(1, length + 1)))
        for name in self.NAMES:
            if validation or not name.startswith("val_"):
                setattr(h, name, getattr(self, name)[:length, r].tolist())
        return h


def train(net, X, labels, config, rngs=None, validation=None, callback=None, probe=None):
    """Train the R replicas of net in place; returns their Histories, one per replica.

    X (R, n[0], m) with integer labels (R, m): each replica's own training set (or X (n[0], m) and
    labels (m,) shared by all). rngs: one numpy Generator (or seed) per replica, for its mini-batch
    order (each replica draws rng.permutation(m) per epoch, as it would alone); for R = 1 a single
    one will do. validation: optional (X_val (R, n[0], m_val), labels_val (R, m_val)), measured
    after every epoch (and used by early stopping).

    callback(epoch, record, net, active) is called after every epoch, once for all replicas:
    record maps each metric to an array (R,) — train_loss, train_accuracy, val_loss, val_accuracy
    and, at probe epochs, the dynamics (grad_norm_<l>, weight_norm_<l>, saturated_<l> or dead_<l>;
    see dynamics.py); active is a bool array (R,), the replicas still training at this epoch (not
    stopped early before it, not diverged). An inactive replica's entries are NaN. The arrays are
    not reused: the callback may keep them.
    probe(epoch) -> bool says at which epochs to record the dynamics (None: never).

    Per replica: early stopping ends its curves at the epoch whose patience ran out, and it ends
    with the weights of its best epoch (it may go on computing meanwhile; that is discarded). A
    replica whose loss is not finite stops there (History.diverged_epoch; its curves end at the
    last finite epoch) while the others go on; train() does not raise for it.
    config.gradcheck: check backward propagation against finite differences first (raises
    GradientCheckError if the activation's derivative is wrong).
    """
    config.check()
    if config.replicas() not in (1, net.replicas):
        raise ValueError(f"per-replica values for {config.replicas()} replicas, the network has "
                         f"{net.replicas}")
    if config.replicas() > 1 and net.dtype != np.float64:
        # alone, a float32 network rounds each number to float32 before using it, and NumPy's
        # casting rules for a number beside float32 arrays differ between its versions: only
        # float64 arithmetic is the same with a number and with an array of them
        raise ValueError(f"per-replica values need a float64 network, not {net.dtype}")
    if config.early_stopping and validation is None:
        raise ValueError("early_stopping needs validation data")
    R, dtype, n_out = net.replicas, net.dtype, net.sizes[-1]
    rngs = generators(rngs, R)
    X1 = augmented(X, R, net.sizes[0], dtype)  # [X; 1]: A[0] on its row of ones, per replica
    m = X1.shape[-1]
    targets = _Targets(stacked_labels(labels, R, m), n_out, dtype)
    if config.gradcheck:
        gradcheck(net, X1[:, :-1], targets.labels, l2=float(np.ravel(config.l2)[0]),
                  tolerance=TOLERANCE)  # (on replica 0, with its own λ)
    if validation is not None:
        X_val1 = augmented(validation[0], R, net.sizes[0], dtype)
        m_val = X_val1.shape[-1]
        val_targets = _Targets(stacked_labels(validation[1], R, m_val), n_out, dtype)
        A_val = np.empty((R, n_out, m_val), dtype)
        val_plan = net._prediction_plan(X_val1, A_val)

    batch = m if config.batch_size is None else min(config.batch_size, m)
    full_batch = batch == m
    X_source, label_source, Y_source = X1[:, :-1], targets.labels, targets.Y
    if not full_batch:  # each epoch, each replica's samples in its own order (filled below)
        X_source = X_source.copy()
        targets = _Targets(np.zeros_like(label_source), n_out, dtype)
    curves = _Curves(config.epochs, R, any(np.ravel(config.l2)))
    size = replicas_per_chunk(net.sizes, batch, R, dtype, net._activation.needs_z)
    groups = []
    for r0, r1 in chunks(R, size):
        rows = slice(r0, r1)
        batches = [(X1[rows, :, s : s + batch], targets.columns(s, s + batch, rows))
                   for s in range(0, m, batch)]
        groups.append(_Group(net.view(r0, r1), rows, config, batches, curves))

    active, all_active = np.ones(R, bool), True
    last_params = None  # the weights of replicas that diverged, as they were then
    length = np.zeros(R, int)  # epochs in each replica's curves, set when it stops
    diverged_epoch, diverged_loss = np.zeros(R, int), np.zeros(R)  # 0: not diverged
    stopped_early = np.zeros(R, bool)
    early = config.early_stopping
    if early:
        best_loss, best_epoch = np.full(R, np.inf), np.zeros(R, int)
        waited = np.zeros(R, int)
        best_params = [p.copy() for p in net.parameters()]
    recorded = [(name, getattr(curves, name)) for name in _Curves.NAMES[:4]
                if validation is not None or not name.startswith("val_")]
    checked = [curves.objective] + ([curves.val_loss] if validation is not None else [])
    probe_names = dynamics.keys(net)

    epoch = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, config.epochs + 1):
            i = epoch - 1
            if not full_batch:  # each replica's samples in the order its own generator draws
                for r, rng in enumerate(rngs):
                    order = rng.permutation(m)
                    np.take(X_source[r], order, axis=1, out=X1[r, :-1], mode="clip")
                    np.take(label_source[r], order, out=targets.labels[r], mode="clip")
                    np.take(Y_source[r], order, axis=1, out=targets.Y[r], mode="clip")
                if targets.complement is not None:
                    np.subtract(1, targets.labels, out=targets.complement, casting="unsafe")
            stats = None
            if probe is not None and probe(epoch):
                stats_table, stats = dynamics.table(probe_names, R)
            for group in groups:
                group.epoch(i, m, stats)
            if stats is not None:
                dynamics.finish(net, stats_table)
            if validation is not None:
                val_total, val_correct = figures(net._run_plan(val_plan, A_val), val_targets)
                np.divide(val_total, -m_val, out=curves.val_loss[i])  # −Σ log p / m
                np.divide(val_correct, m_val, out=curves.val_accuracy[i])

            if not all(math.isfinite(np.add.reduce(c[i])) for c in checked):
                finite = np.logical_and.reduce([np.isfinite(c[i]) for c in checked])
                blown = active & ~finite
                if blown.any():  # divergence: its curves end at the last finite epoch
                    diverged_epoch[blown], length[blown] = epoch, epoch - 1
                    worst = np.where(np.isfinite(checked[0][i]), checked[-1][i], checked[0][i])
                    diverged_loss[blown] = worst[blown]
                    if last_params is None:  # it ends with the weights it diverged with, as alone
                        last_params = [np.empty_like(p) for p in net.parameters()]
                    for p, kept in zip(net.parameters(), last_params, strict=True):
                        np.copyto(kept, p, where=blown[:, None, None])
                    active &= ~blown
                    all_active = False

            if callback is not None:
                record = {name: curve[i] for name, curve in recorded}
                if stats is not None:
                    record.update(stats)
                if not all_active:
                    record = {k: np.where(active, v, np.nan) for k, v in record.items()}
                callback(epoch, record, net, active.copy())

            if early:
                val_loss = curves.val_loss[i]
                improved = active & (val_loss < best_loss - config.tol)
                if improved.any():
                    best_loss[improved], best_epoch[improved] = val_loss[improved], epoch
                    waited[improved] = 0
                    for p, best in zip(net.parameters(), best_params, strict=True):
                        np.copyto(best, p, where=improved[:, None, None])
                waited[active & ~improved] += 1
                out_of_patience = active & (waited >= config.patience)
                if out_of_patience.any():
                    stopped_early |= out_of_patience
                    length[out_of_patience] = epoch
                    active &= ~out_of_patience
                    all_active = False
            if not all_active and not active.any():
                break
        length[active] = epoch

        if validation is None and active.any():  # the last step's weights are checked here
            final_loss, _ = evaluate(net, X_source, label_source)
            blown = active & ~np.isfinite(final_loss)
            diverged_epoch[blown] = epoch
            diverged_loss[blown] = final_loss[blown]

    if last_params is not None:  # a diverged replica's weights stop where it diverged
        for p, kept in zip(net.parameters(), last_params, strict=True):
            np.copyto(p, kept, where=(diverged_epoch > 0)[:, None, None])
    if early:  # each replica ends with the weights of its best epoch
        has_best = best_epoch > 0
        for p, best in zip(net.parameters(), best_params, strict=True):
            np.copyto(p, best, where=has_best[:, None, None])
    histories = []
    for r in range(R):
        h = curves.history(r, int(length[r]), validation is not None)
        h.stopped_early = bool(stopped_early[r])
        if early and best_epoch[r] > 0:
            h.best_epoch = int(best_epoch[r])
        if diverged_epoch[r]:
            h.diverged_epoch, h.diverged_loss = int(diverged_epoch[r]), float(diverged_loss[r])
        histories.append(h)
    return histories
