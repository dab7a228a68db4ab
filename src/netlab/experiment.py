"""The experiment: one configuration trained with one or several seeds, and measured.

Reads top to bottom like the experiment. For each seed (a replica): derive its data seed and its
initialisation seed, load its data (split, standardised on the training part), build the network;
train the replicas; measure each on its training, validation and test parts. A replica with seed s
is exactly the run `seed=s` alone would be. Replicas may also differ in their configuration's
learning rate, penalty, optimizer numbers, initialisation and data seed (each Replica's cfg): a
sweep over those trains as one stack too, each replica still exactly its run alone.

Knows nothing of Hydra or MLflow. This file is training code: its contents are part of every run's
identity (netlab.identity), so what only logs or prints lives elsewhere (netlab.recording,
src/netlab/job.py).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

from netlab import data, snapshots
from netlab.nn import Network, TrainingConfig, evaluate, layer_sizes, predicted_class
from netlab.nn import train as train_network

PARTS = ("train", "val", "test")
# A layer whose weight norm ‖W[l]‖ passes this has blown up: the toy problems' healthy networks stay
# below ~10³ however long they train, while a learning rate past the edge of stability multiplies
# the weights at every step (lr=100 with ReLU: 10⁶⁶ by epoch 200, its loss still finite)
WEIGHT_NORM_LIMIT = 1e6


def derive_seeds(seed, data_seed=None):
    """(data_seed, init_seed): two independent streams derived from one integer seed.

    data_seed, when given, fixes the data whatever the seed (the seed then varies only the
    initialisation and the mini-batch order).
    """
    data_stream, init_stream = np.random.SeedSequence(seed).spawn(2)
    derived = int(data_stream.generate_state(1)[0])
    if data_seed is not None:
        derived = int(np.random.SeedSequence(data_seed).spawn(2)[0].generate_state(1)[0])
    return derived, int(init_stream.generate_state(1)[0])


def load_data(cfg, data_seed):
    """The dataset cfg.dataset describes, split and standardised (a netlab.data.Dataset)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    return data.load(params.pop("name"), seed=data_seed, **params)


def training_config(cfg, cfgs=()):
    """How the network is trained, from the composed config; cfgs, one config per replica: a
    value they do not share (the learning rate, …: nn.PER_REPLICA) is given per replica."""
    cfgs = cfgs or [cfg]

    def each(get):
        values = [get(c) for c in cfgs]
        return values[0] if len(set(values)) == 1 else tuple(values)

    return TrainingConfig(
        learning_rate=each(lambda c: c.lr), epochs=cfg.epochs, batch_size=cfg.batch_size,
        optimizer=cfg.optimizer.name, l2=each(lambda c: c.l2),
        momentum=each(lambda c: c.optimizer.get("momentum", 0.9)),
        beta1=each(lambda c: c.optimizer.get("beta1", 0.9)),
        beta2=each(lambda c: c.optimizer.get("beta2", 0.999)),
        gradcheck=cfg.gradcheck,
    )


@dataclass
class Replica:
    """One seed's training: its data, its trained network and curves, its final figures."""

    seed: int
    data_seed: int
    init_seed: int
    cfg: object = None  # the configuration it trains (replicas_of sets it)
    data: "data.Dataset" = None  # loaded by load()
    network: Network = None
    history: object = None  # netlab.nn.History
    diverged_epoch: int | None = None
    diverged_reason: str | None = None  # why it counts as diverged, in words
    metrics: dict = field(default_factory=dict)  # {train,val,test}_{loss,accuracy}, test_f1, …
    boundaries: snapshots.BoundarySnapshots | None = None

    @property
    def diverged(self):
        """Whether training blew up: a non-finite loss, exploding weights, or a loss that rose
        to an end no better than guessing the majority class (diverged_reason says which)."""
        return self.diverged_epoch is not None


def replicas_of(cfg, seeds):
    """The replicas of cfg for these seeds, each with its data seed and init seed derived."""
    return [Replica(seed, *derive_seeds(seed, cfg.get("data_seed")), cfg=cfg) for seed in seeds]


def load(cfg, replicas):
    """Load each replica's data (replicas that share a data seed share the dataset)."""
    loaded = {}
    for replica in replicas:
        if replica.data_seed not in loaded:
            loaded[replica.data_seed] = load_data(cfg, replica.data_seed)
        replica.data = loaded[replica.data_seed]
    return replicas


def prepare(cfg, seeds):
    """The replicas of cfg for these seeds, their seeds derived and their data loaded."""
    return load(cfg, replicas_of(cfg, seeds))


def train(cfg, replicas, on_epoch=None, probe=None):
    """Train every replica of cfg (from prepare()) together, one stacked network, and measure each;
    returns the replicas. Each replica's weights and figures are those of its seed trained alone
    with its own cfg (replicas whose cfg differ only in nn.PER_REPLICA values, the initialisation
    or data_seed: the network's shape and the rest of training are cfg's).

    on_epoch(epoch, record, active) is called after every epoch: record maps each per-epoch figure
    (train_loss, train_accuracy, val_loss, val_accuracy, and at probe(epoch) epochs the training
    dynamics: grad_norm_<l>, weight_norm_<l>, saturated_<l> or dead_<l>) to an array over the
    replicas; active says which replicas trained in that epoch. BLAS is limited to one thread, so
    results do not depend on the launcher or the machine's load. A diverging replica does not
    raise: it records the epoch it diverged at, and the others go on.
    """
    first = replicas[0].data
    sizes = layer_sizes(first.n_features, (cfg.width,) * cfg.depth, first.n_classes)
    network = Network(sizes, cfg.activation, replicas=len(replicas))
    rngs = [np.random.default_rng(r.init_seed) for r in replicas]
    inits = [(r.cfg or cfg).init for r in replicas]
    # each replica draws from its own generator with its own scheme, as alone
    network.initialize(inits if len(set(inits)) > 1 else inits[0], rngs)
    X = np.stack([r.data.X_train.T for r in replicas])  # (R, n[0], m): samples are columns
    labels = np.stack([r.data.y_train for r in replicas])
    validation = (np.stack([r.data.X_val.T for r in replicas]),
                  np.stack([r.data.y_val for r in replicas]))
    boundaries = Boundaries(replicas, cfg.epochs) if first.is_2d else None

    blown_at = [None] * len(replicas)  # the first probed epoch a replica's weights blew up at

    def each_epoch(epoch, record, net, active):
        norms = [v for k, v in record.items() if k.startswith("weight_norm_")]
        if norms:
            with np.errstate(invalid="ignore"):
                blown = np.logical_or.reduce([~(n <= WEIGHT_NORM_LIMIT) for n in norms]) & active
            for r in np.flatnonzero(blown):
                blown_at[r] = blown_at[r] or epoch
        if boundaries is not None:
            boundaries(epoch, net, active)
        if on_epoch is not None:
            on_epoch(epoch, record, active)

    start = time.perf_counter()
    with threadpool_limits(limits=1):
        histories = train_network(network, X, labels,
                                  training_config(cfg, [r.cfg or cfg for r in replicas]), rngs,
                                  validation, callback=each_epoch, probe=probe)
    seconds = (time.perf_counter() - start) / len(replicas)  # each replica's share
    for r, (replica, history) in enumerate(zip(replicas, histories, strict=True)):
        replica.history, replica.network = history, network.replica(r)
        replica.diverged_epoch = history.diverged_epoch
        replica.metrics.update(train_time_s=seconds, epochs_run=len(history.epoch))
        judge(replica, blown_at[r])
        measure(replica)
    return replicas


class Boundaries:
    """Each 2-D replica's decision boundary at ~16 log-spaced epochs (netlab.snapshots), evaluated
    for all replicas in one stacked pass."""

    def __init__(self, replicas, epochs):
        wanted = snapshots.log_spaced_epochs(epochs)
        self.replicas = replicas
        for replica in replicas:
            replica.boundaries = snapshots.BoundarySnapshots(replica.data.X_train, wanted,
                                                             y=replica.data.y_train)
        self.wanted = set(wanted)
        self.grids = np.stack([r.boundaries.grid for r in replicas])  # (R, 2, r·r)

    def __call__(self, epoch, network, active):
        if epoch not in self.wanted:
            return
        proba = network.predict_proba(self.grids.astype(network.dtype, copy=False))
        for replica, frame, alive in zip(self.replicas, proba, active, strict=True):
            if alive:
                replica.boundaries.add(epoch, frame)


def judge(replica, blown_at=None):
    """Mark a replica diverged, saying why, when its loss became non-finite (the training loop
    stopped it), its weights blew up (‖W[l]‖ > WEIGHT_NORM_LIMIT: at the first probed epoch
    blown_at, else by its end), or its training loss rose to an end no better than predicting the
    majority class: each a learning rate past the edge, whatever the loss still says."""
    history, network = replica.history, replica.network
    if replica.diverged_epoch is not None:
        replica.diverged_reason = f"loss not finite at epoch {replica.diverged_epoch}"
        return
    norms = [float(np.linalg.norm(W)) for W in network.W[1:]]  # ‖W[l]‖, l = 1 … L
    last = len(history.epoch)
    if not all(n <= WEIGHT_NORM_LIMIT for n in norms):  # NaN included
        replica.diverged_epoch = blown_at or last
        replica.diverged_reason = (f"weights overflow (norm {max(norms):.3g} > "
                                   f"{WEIGHT_NORM_LIMIT:g}) by epoch {replica.diverged_epoch}")
        return
    losses, accuracies = history.train_loss, history.val_accuracy or history.train_accuracy
    if last >= 2 and losses[-1] > losses[0] and accuracies:
        y = replica.data.y_val if history.val_accuracy else replica.data.y_train
        majority = np.bincount(y).max() / len(y)
        if accuracies[-1] <= majority:
            replica.diverged_epoch = last
            replica.diverged_reason = (f"loss rose from {losses[0]:.3g} to {losses[-1]:.3g}, "
                                       f"accuracy {accuracies[-1]:.3f} no better than the "
                                       f"majority class's {majority:.3f}")


def measure(replica):
    """Loss and accuracy of a trained replica on each part of its data, and the test set's F1."""
    if replica.diverged:
        replica.metrics.update({f"{part}_{metric}": math.nan for part in PARTS
                                for metric in ("loss", "accuracy")}, test_f1=math.nan)
        return
    from sklearn.metrics import f1_score

    d, net = replica.data, replica.network
    for part in PARTS:
        X, y = getattr(d, f"X_{part}"), getattr(d, f"y_{part}")
        (loss,), (accuracy,) = evaluate(net, X.T.astype(net.dtype), y)
        replica.metrics[f"{part}_loss"], replica.metrics[f"{part}_accuracy"] = (
            float(loss), float(accuracy))
    predicted = predict(replica, d.X_test)
    replica.metrics["test_f1"] = f1_score(d.y_test, predicted, average="macro")


def predict(replica, X):
    """The class index the replica's network gives each row of X (m, n_features) -> (m,)."""
    A = replica.network.predict_proba(np.asarray(X, dtype=replica.network.dtype).T)[0]
    return predicted_class(A).astype(int)
