"""What a run is: the facts that decide its results, hashed into the `config_hash` it is found by.

A run's identity is
- its resolved config without the control keys (src/netlab/config.py: how a job runs or is logged),
  normalised so that keys which cannot change training do not split one training into several
  configurations (at depth 0 there is no hidden layer: `width` and `activation` are void);
- the content hash of the data it read, for a user's own file (None for generated data, which the
  config itself identifies);
- the code that trains: a hash of the contents of TRAINING_CODE (the network, the data, the
  experiment). Edits elsewhere (tracking, reports, the command line) do not change any result, so
  they do not make earlier runs stale; any edit to those files does, formatting included.

Skipping finished work, resuming a sweep and the report's grouping all use config_hash. Knows
nothing of Hydra or MLflow.
"""

import functools
import hashlib
import json

from netlab.paths import PROJECT_ROOT

TRAINING_CODE = ("src/netlab/nn", "src/netlab/data", "src/netlab/experiment.py")
VOID = None  # the value a normalised-away key takes


def normalise(config, n_train=None):
    """(identity config, {key: why it is void}) of a resolved config without control keys;
    n_train (rows of the training part, when known) voids a batch that holds them all."""
    config = json.loads(json.dumps(config))  # a deep copy of plain values
    notes = {}
    batch = config.get("batch_size")
    if n_train is not None and batch is not None and batch >= n_train:
        config["batch_size"] = VOID  # the whole training set: full-batch gradient descent
        notes["batch_size"] = f"holds the whole training part ({n_train} rows): full batch"
    if config.get("data_seed") is not None and config.get("data_seed") == config.get("seed"):
        config["data_seed"] = VOID  # the data seed `seed` derives anyway
        notes["data_seed"] = "equal to seed"
    if config.get("depth") == 0:
        for key in ("width", "activation"):
            if config.get(key) is not VOID:
                config[key] = VOID
                notes[key] = "no hidden layer at depth 0"
    return config, notes


def training_files(root=PROJECT_ROOT):
    """The files whose contents are the training code, sorted (paths relative to root)."""
    files = []
    for entry in TRAINING_CODE:
        path = root / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f.relative_to(root) for f in files if f.is_file()]


@functools.cache
def code_hash(root=PROJECT_ROOT):
    """A hash of the training code's contents (16 hex digits)."""
    digest = hashlib.sha256()
    for relative in training_files(root):
        digest.update(str(relative).encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_hash(config, data_hash=None, code=None, n_train=None):
    """The hash a run is found by: its normalised config, data content and training code."""
    identity, _ = normalise(config, n_train)
    text = json.dumps({"config": identity, "data": data_hash, "code": code or code_hash()},
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def of_job(cfg, seeds):
    """[(config_hash, group_hash)] of a composed job config's runs, one per seed: the data
    described (not loaded) for its content hash and the size of its training part."""
    from netlab import data
    from netlab.config import describe_dataset, identity_keys

    info = describe_dataset(cfg.dataset)
    data_hash = info.content_hash or (data.file_hash(info.path) if info.path else None)
    n_train = data.split_sizes(info.n_rows, cfg.dataset.test_size, cfg.dataset.val_size)[0]
    return of_seeds(identity_keys(cfg), seeds, data_hash, n_train), n_train


def of_seeds(config, seeds, data_hash=None, n_train=None):
    """[(config_hash, group_hash)] of the runs of config with each seed; the group is the
    configuration without its seed (the runs a report aggregates)."""
    group = config_hash({k: v for k, v in config.items() if k != "seed"}, data_hash,
                        n_train=n_train)
    return [(config_hash({**config, "seed": seed}, data_hash, n_train=n_train), group)
            for seed in seeds]
