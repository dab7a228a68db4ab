"""What a job needs, before it starts: an estimate of its memory, and the limit it must fit in.

A job that cannot fit is refused before any run is created, in one line naming the key that makes
it big, the estimate and the limit, instead of failing after minutes (or taking a shared machine
down with it). The limit is the config key `memory_limit` (GB), else half of the memory the machine
has available now; parallel workers share it.
"""

import math
from dataclasses import dataclass

from netlab import data

GB = 1024**3
SNAPSHOTS = 16 * 80 * 80 * 4  # bytes per output unit of the recorded decision boundaries


@dataclass
class Estimate:
    """Bytes a job needs, by what needs them."""

    data: int  # one replica's data (read or generated, split, standardised)
    network: int  # one replica's weights, gradients, optimizer state, activations, snapshots
    replicas: int

    @property
    def total(self):
        """All bytes."""
        return (self.data + self.network) * self.replicas


def available_bytes():
    """The memory the machine has available now (MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def limit_bytes(cfg):
    """The memory one job may use: memory_limit GB, else half of the available memory."""
    if cfg.get("memory_limit") is not None:
        return int(cfg.memory_limit * GB)
    return available_bytes() // 2


def estimate(cfg, info=None):
    """The bytes the job cfg describes needs (an Estimate), before anything is allocated."""
    from netlab.config import describe_dataset

    info = info or describe_dataset(cfg.dataset)
    rows, features, classes = info.n_rows, info.n_features, info.n_classes
    n_train = data.split_sizes(rows, cfg.dataset.test_size, cfg.dataset.val_size)[0]
    data_bytes = info.bytes + rows * features * 8  # read or generated, split, standardised
    sizes = [features, *([cfg.width] * cfg.depth), 1 if classes <= 2 else classes]
    weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    state = {"adam": 4, "momentum": 3}.get(cfg.optimizer.name, 2)  # W, dW (+ moments)
    batch = n_train if cfg.batch_size is None else min(cfg.batch_size, n_train)
    units = sum(n + 1 for n in sizes)
    activations = 2 * units * batch + units * max(rows - n_train, 1)  # A, dZ; evaluation
    network = 8 * (state * weights + activations) + (SNAPSHOTS * sizes[-1] if features == 2 else 0)
    return Estimate(int(data_bytes), int(network), int(cfg.seeds))


def check(cfg, workers=1):
    """Raise MemoryError with one line unless `workers` jobs like cfg fit in the limit together."""
    need, limit = estimate(cfg), limit_bytes(cfg)
    if need.total * workers <= limit:
        return need
    key, value = culprit(cfg)
    together = f" × {workers} parallel workers" if workers > 1 else ""
    source = ("memory_limit" if cfg.get("memory_limit") is not None
              else "half of the available memory; set memory_limit=GB to change it")
    raise MemoryError(f"{key}={value}: the job needs about {_size(need.total)}{together}, more "
                      f"than the limit of {_size(limit)} ({source})")


def _size(n):
    if n >= 100 * GB:
        return f"{n / GB:,.0f} GB"
    return f"{n / GB:.3g} GB" if n >= GB / 10 else f"{math.ceil(n / 1024**2)} MB"


def culprit(cfg):
    """(key, value): the config key that makes the job big, named in a refusal: the one whose
    modest value (seeds 1, width 8, 500 samples, mini-batches of 64) shrinks the estimate most."""
    from omegaconf import open_dict

    from netlab.config import describe_dataset

    info = describe_dataset(cfg.dataset)
    trials = {"seeds": 1, "width": 8, "batch_size": 64}
    if "n_samples" in cfg.dataset:
        trials["dataset.n_samples"] = 500
    best, smallest = None, estimate(cfg, info).total
    for key, modest in trials.items():
        trial = cfg.copy()
        with open_dict(trial):
            if key == "dataset.n_samples":
                trial.dataset.n_samples = modest
                total = estimate(trial).total
            else:
                trial[key] = modest
                total = estimate(trial, info).total
        if total < smallest:
            best, smallest = key, total
    if best is None:  # a user's file: its size is what it is
        best = "dataset.path" if "path" in cfg.dataset else "dataset.name"
    return best, _value(cfg, best)


def _value(cfg, key):
    """cfg's value at a dotted key."""
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key)
