"""What a job needs, before it starts: an estimate of its memory, and the limit it must fit in.

A job that cannot fit is refused before any run is created, in one line naming the key that makes
it big, the estimate and the limit, instead of failing after minutes (or taking a shared machine
down with it). The limit is the config key `memory_limit` (GB), else half of the memory available
now (the machine's, or less where this process's cgroup allows less: a container, a SLURM job);
parallel workers share it, and the grid sweeper's own workers count their processes too.
"""

import math
from dataclasses import dataclass

from netlab import data

GB = 1024**3
# a worker process before its first job: the interpreter with NumPy, scikit-learn, MLflow, Hydra
# and matplotlib imported (what a process of the grid sweeper's own workers costs beside its job)
WORKER_BYTES = 300 * 1024**2
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
    """The memory available now, in bytes: the machine's (MemAvailable), or less where this
    process's cgroup (a container, a SLURM job) allows less (cgroup v2: memory.max less
    memory.current)."""
    found = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
    except OSError:
        pass
    if found is None:
        import os

        found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    cgroup = _cgroup_room()
    return found if cgroup is None else min(found, cgroup)


def _cgroup_room():
    """What this process's memory cgroup still allows (its limit less its use: cgroup v2's
    memory.max and memory.current, v1's memory.limit_in_bytes and memory.usage_in_bytes), or None
    where no limit is set or readable."""
    files = {"": ("memory.max", "memory.current"),
             "memory": ("memory.limit_in_bytes", "memory.usage_in_bytes")}
    rooms = []
    try:
        with open("/proc/self/cgroup") as listed:
            lines = [line.rstrip("\n").split(":", 2) for line in listed]
    except OSError:
        return None
    for _, controllers, path in (line for line in lines if len(line) == 3):
        if controllers not in files:
            continue
        folder = "/sys/fs/cgroup" + ("/memory" if controllers else "") + path
        most, used = files[controllers]
        try:
            with open(f"{folder}/{most}") as limit, open(f"{folder}/{used}") as usage:
                text = limit.read().strip()
                if text != "max" and int(text) < 2**60:  # v1 writes "no limit" as ~2**63
                    rooms.append(max(int(text) - int(usage.read()), 0))
        except (OSError, ValueError):
            continue
    return min(rooms, default=None)


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


def check(cfg, workers=1, overhead=0):
    """Raise MemoryError with one line unless `workers` jobs like cfg fit in the limit together,
    each in a process that costs `overhead` bytes more (WORKER_BYTES: a worker of its own)."""
    need, limit = estimate(cfg), limit_bytes(cfg)
    if (need.total + overhead) * workers <= limit:
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
