"""The experiment: one configuration trained with one or several seeds, and measured.

Reads top to bottom like the experiment. For each seed (a replica): derive its data seed and its
initialisation seed, load its data (split, standardised on the training part), build the network;
train the replicas; measure each on its training, validation and test parts. A replica with seed s
is exactly the run `seed=s` alone would be.

Knows nothing of Hydra or MLflow. This file is training code: its contents are part of every run's
identity (src/identity.py), so what only logs or prints lives elsewhere (src/recording.py,
src/job.py).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

from src import data, snapshots
from src.nn import Diverged, Network, TrainingConfig, evaluate, layer_sizes
from src.nn import train as train_network

PARTS = ("train", "val", "test")


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
    """The dataset cfg.dataset describes, split and standardised (a src.data.Dataset)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    return data.load(params.pop("name"), seed=data_seed, **params)


def training_config(cfg):
    """How the network is trained, from the composed config."""
    return TrainingConfig(
        learning_rate=cfg.lr, epochs=cfg.epochs, batch_size=cfg.batch_size,
        optimizer=cfg.optimizer.name, l2=cfg.l2,
        momentum=cfg.optimizer.get("momentum", 0.9),
        beta1=cfg.optimizer.get("beta1", 0.9), beta2=cfg.optimizer.get("beta2", 0.999),
    )


@dataclass
class Replica:
    """One seed's training: its data, its trained network and curves, its final figures."""

    seed: int
    data_seed: int
    init_seed: int
    data: "data.Dataset" = None  # loaded by load()
    network: Network = None
    history: object = None  # src.nn.History
    diverged_epoch: int | None = None
    metrics: dict = field(default_factory=dict)  # {train,val,test}_{loss,accuracy}, test_f1, …
    boundaries: snapshots.BoundarySnapshots | None = None

    @property
    def diverged(self):
        """Whether training produced a non-finite loss."""
        return self.diverged_epoch is not None


def replicas_of(cfg, seeds):
    """The replicas of cfg for these seeds, each with its data seed and init seed derived."""
    return [Replica(seed, *derive_seeds(seed, cfg.get("data_seed"))) for seed in seeds]


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


def train(cfg, replicas, on_epoch=None):
    """Train every replica of cfg (from prepare()) and measure it; returns the replicas.

    on_epoch(epoch, record, active) is called after every epoch: record maps each per-epoch figure
    (train_loss, train_accuracy, val_loss, val_accuracy) to an array over the replicas, active
    says which replicas trained in that epoch. BLAS is limited to one thread, so results do not
    depend on the launcher or the machine's load. A diverging replica does not raise: it records
    the epoch it diverged at, and the others go on.
    """
    config = training_config(cfg)
    n = len(replicas)
    for r, replica in enumerate(replicas):
        d = replica.data
        if d.is_2d:  # the decision boundary at ~16 log-spaced epochs (the report's GIF)
            replica.boundaries = snapshots.BoundarySnapshots(
                d.X_train, snapshots.log_spaced_epochs(cfg.epochs), y=d.y_train)
        sizes = layer_sizes(d.n_features, (cfg.width,) * cfg.depth, d.n_classes)
        network = Network(sizes, cfg.activation)
        rng = np.random.default_rng(replica.init_seed)
        network.initialize(cfg.init, rng)
        active = np.arange(n) == r

        def each_epoch(epoch, record, net, r=r, replica=replica, active=active):
            if replica.boundaries is not None:
                replica.boundaries(epoch, record, net)
            if on_epoch is not None:
                on_epoch(epoch, {k: np.where(active, v, np.nan) for k, v in record.items()},
                         active)

        start = time.perf_counter()
        with threadpool_limits(limits=1):
            try:
                replica.history = train_network(
                    network, d.X_train.T, d.y_train, config, rng,
                    validation=(d.X_val.T, d.y_val), callback=each_epoch)
            except Diverged as error:
                replica.history, replica.diverged_epoch = error.history, error.epoch
        replica.metrics["train_time_s"] = time.perf_counter() - start
        replica.network = network
        replica.metrics["epochs_run"] = len(replica.history.epoch)
        measure(replica)
    return replicas


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
        loss, accuracy = evaluate(net, X.T.astype(net.dtype), y)
        replica.metrics[f"{part}_loss"], replica.metrics[f"{part}_accuracy"] = loss, accuracy
    predicted = predict(replica, d.X_test)
    replica.metrics["test_f1"] = f1_score(d.y_test, predicted, average="macro")


def predict(replica, X):
    """The class index the replica's network gives each row of X (m, n_features) -> (m,)."""
    A = replica.network.predict_proba(np.asarray(X, dtype=replica.network.dtype).T)
    return (A[0] > 0.5).astype(int) if A.shape[0] == 1 else A.argmax(axis=0)
