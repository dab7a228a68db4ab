"""The configuration: typed schemas for Hydra's ConfigStore, and the one check of its values.

conf/*.yaml hold the values; the dataclasses here say which keys exist and their types, so Hydra
itself rejects a misspelt key or a wrong type. validate() checks the values once, at the edge, and
raises ConfigError naming the key, the value and what is allowed (netlab.hydra_glue runs it before
a single run starts, and in a multirun on every job's config before the first job starts).

Each key has a role, declared here once: most keys say what is trained and are part of a run's
identity (netlab.identity) and its params; CONTROL_KEYS say how a job runs or is logged and are
neither.

A new config group is a dataclass here, one register() line, and a folder in conf/.

Why one file of ~360 lines: every setting's schema and its one check are declared in one place
(as TensorFlow Playground's state.ts does), so a key is found by reading one file.
"""

import difflib
import math
import re
import sys
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from netlab import data, nn
from netlab.paths import usable_name


# ---------------------------------------------------------------- schemas (values live in conf/)
@dataclass
class DatasetConfig:
    """Every dataset: its name and the split (fractions of all rows)."""

    name: str = MISSING
    test_size: float = MISSING
    val_size: float = MISSING


@dataclass
class NoisyConfig(DatasetConfig):
    """moons, flower, xor, spiral: n_samples points with noise."""

    n_samples: int = MISSING
    noise: float = MISSING


@dataclass
class CirclesConfig(NoisyConfig):
    factor: float = MISSING  # inner circle's radius relative to the outer one, in [0, 1)


@dataclass
class BlobsConfig(DatasetConfig):
    n_samples: int = MISSING
    n_features: int = MISSING
    centers: int = MISSING
    cluster_std: float = MISSING


@dataclass
class ClassificationConfig(DatasetConfig):
    n_samples: int = MISSING
    n_features: int = MISSING
    n_informative: int = MISSING
    n_redundant: int = MISSING
    n_classes: int = MISSING
    n_clusters_per_class: int = MISSING
    class_sep: float = MISSING
    flip_y: float = MISSING  # fraction of labels assigned at random


@dataclass
class GaussianQuantilesConfig(DatasetConfig):
    n_samples: int = MISSING
    n_features: int = MISSING
    n_classes: int = MISSING


@dataclass
class NpzConfig(DatasetConfig):
    """npz: the user's arrays X (m, n_features) and y (m,) in an .npz file."""

    path: str = MISSING  # relative to the directory the command runs in


@dataclass
class CsvConfig(NpzConfig):
    """csv: the user's table (.csv, .tsv, .parquet); label names its class column."""

    label: str = "label"
    features: list[str] | None = None  # null: every other column
    missing: str = "error"  # a row with an empty cell: error (refused) or drop
    categorical: str = "onehot"  # a text feature: onehot (encoded on the training part) or error


@dataclass
class OptimizerConfig:
    """gd and sgd: θ ← θ − lr·dθ (batch_size decides full batch or mini-batches)."""

    name: str = MISSING


@dataclass
class MomentumConfig(OptimizerConfig):
    momentum: float = MISSING


@dataclass
class AdamConfig(OptimizerConfig):
    beta1: float = MISSING
    beta2: float = MISSING


@dataclass
class MlflowConfig:
    """Where runs are tracked (see src/netlab/tracking)."""

    tracking_uri: str | None = None  # null: $MLFLOW_TRACKING_URI, else the project's mlruns/
    experiment: str | None = None  # null: the study's name (+experiment=…), else "netlab"


@dataclass
class Config:
    """The whole config: two groups and the short top-level keys people sweep."""

    dataset: DatasetConfig = MISSING
    optimizer: OptimizerConfig = MISSING
    activation: str = MISSING
    width: int = MISSING  # units per hidden layer
    depth: int = MISSING  # number of hidden layers (0: logistic regression)
    lr: float = MISSING
    epochs: int = MISSING
    batch_size: int | None = MISSING  # null: full batch
    seed: int = MISSING  # data seed and init seed are both derived from it
    init: str = MISSING
    l2: float = MISSING
    data_seed: int | None = None  # null: derived from seed; an integer fixes the data across seeds
    seeds: int = 1  # replicas a job trains: seeds seed, seed+1, …, seed+seeds−1
    gradcheck: bool = False  # check the gradient against finite differences before training
    memory_limit: float | None = None  # GB a job may use; null: half of the available memory
    baseline: dict[str, Any] | None = None  # a study's reference config for its report
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    log_every: int | None = None  # log curves every n-th epoch; null: ~32 log-spaced
    # set by the grid sweeper, not typed: the configurations this job trains as one stack, each
    # "<its number in the sweep> key=value …" (netlab.hydra_glue.packing)
    pack: list[str] = field(default_factory=list)


# How a job runs or is logged, not what it trains: never part of a run's identity, never a param.
# `force` is not in the schema: it is passed as `+force=true` (rerun configs that already finished).
CONTROL_KEYS = ("seeds", "gradcheck", "memory_limit", "baseline", "mlflow", "log_every", "force",
                "pack")
EXTRA_KEYS = {"force": bool}  # the `+key=value` extras the schema allows


SCHEMAS = {
    # (group, name): schema; conf/<group>/<x>.yaml starts with
    # `defaults: [/schema/<group>/<name>@_here_, _self_]`
    ("schema/dataset", "noisy"): NoisyConfig,
    ("schema/dataset", "circles"): CirclesConfig,
    ("schema/dataset", "blobs"): BlobsConfig,
    ("schema/dataset", "classification"): ClassificationConfig,
    ("schema/dataset", "gaussian_quantiles"): GaussianQuantilesConfig,
    ("schema/dataset", "table"): DatasetConfig,
    ("schema/dataset", "csv"): CsvConfig,
    ("schema/dataset", "npz"): NpzConfig,
    ("schema/optimizer", "plain"): OptimizerConfig,
    ("schema/optimizer", "momentum"): MomentumConfig,
    ("schema/optimizer", "adam"): AdamConfig,
    ("schema", "config"): Config,
}


def register():
    """Put every schema into Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    for (group, name), node in SCHEMAS.items():
        cs.store(group=group, name=name, node=node)


register()


# ---------------------------------------------------------------- validation
class ConfigError(ValueError):
    """A config value that is not allowed; str() is one line: key=value: what is allowed."""

    def __init__(self, key, value, allowed):
        super().__init__(f"{key}={value}: {allowed}")
        self.key, self.value, self.allowed = key, value, allowed


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _require(ok, key, value, allowed):
    if not ok:
        raise ConfigError(key, value, f"must be {allowed}")


def _int_at_least(cfg, key, low, prefix=""):
    v = cfg[key]
    _require(_is_int(v) and v >= low, prefix + key, v, f"an integer >= {low}")


def _number_in(cfg, key, low, high, prefix="", open_low=False, closed_high=False):
    v = cfg[key]
    above = low < v if open_low else low <= v
    ok = _is_number(v) and above and (v <= high if closed_high else v < high)
    interval = f"{'(' if open_low else '['}{low}, {high}{']' if closed_high else ')'}"
    _require(ok, prefix + key, v, f"a number in {interval}")


def _one_of(key, value, allowed):
    _require(value in allowed, key, value, f"one of {', '.join(sorted(allowed))}")


# config key -> the network's hyperparameter whose rule (src/netlab/nn/constraints.py) it follows
NETWORK_KEYS = {
    "activation": "activation", "width": "width", "depth": "depth", "lr": "learning_rate",
    "epochs": "epochs", "batch_size": "batch_size", "seed": "random_state", "init": "init",
    "l2": "l2", "gradcheck": "gradcheck", "seeds": "replicas", "optimizer.name": "optimizer",
    "optimizer.momentum": "momentum", "optimizer.beta1": "beta1", "optimizer.beta2": "beta2",
}


# keys whose values may differ between the replicas of one job's stack (each replica trains as it
# would alone): the network's per-replica hyperparameters, the initialisation, the seeds
PACKABLE = ("seed", "data_seed", "init",
            *(key for key, param in NETWORK_KEYS.items() if param in nn.PER_REPLICA))


def validate(cfg):
    """Check every value of a composed config; raise ConfigError naming the first bad one."""
    for key, param in NETWORK_KEYS.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is None and key != "batch_size":
            continue  # not in this group (momentum of gd), or refused by the schema's types
        try:
            nn.check(param, value, name=key)
        except nn.HyperparameterError as error:
            raise ConfigError(key, value, f"must be {error.description}") from None
    if cfg.get("log_every") is not None:
        _int_at_least(cfg, "log_every", 1)
    if cfg.get("data_seed") is not None:
        _int_at_least(cfg, "data_seed", 0)
    if cfg.memory_limit is not None:
        _require(_is_number(cfg.memory_limit) and cfg.memory_limit > 0, "memory_limit",
                 cfg.memory_limit, "a number of GB > 0, or null (half of the available memory)")
    experiment = OmegaConf.select(cfg, "mlflow.experiment", default=None)
    if experiment is not None and usable_name(experiment):  # it names the runs' folder
        shown = experiment if str(experiment).isprintable() else repr(experiment)
        raise ConfigError("mlflow.experiment", shown, usable_name(experiment))
    for entry in cfg.get("pack") or []:
        number, *lines = str(entry).split() or [""]
        _require(number.isdigit() and all(
            "=" in line and line.partition("=")[0] in PACKABLE for line in lines), "pack", entry,
            f"'<job number> key=value …' (the grid sweeper sets it), keys among "
            f"{', '.join(PACKABLE)}")
    validate_extras(cfg)
    validate_dataset(cfg.dataset)


def validate_extras(cfg):
    """Refuse keys the schema does not declare (`+widht=3`, `+dataset.path=…` on moons): Hydra
    lets `+` add any key, and an unknown one would silently train the defaults."""
    for path, node in _structured_nodes(cfg):
        declared = {f.name for f in fields(OmegaConf.get_type(node))}
        allowed = EXTRA_KEYS if path == "" else {}
        for key in node.keys():
            if key in declared or key == "hydra" and path == "":
                continue
            name = f"{path}{key}"
            if key in allowed:
                _require(isinstance(node[key], allowed[key]), name, node[key], "true or false")
                continue
            raise unknown_key(path, key, node[key], declared)


# the estimator's names (NetClassifier, scikit-learn's MLPClassifier) a user may type for a key
ESTIMATOR_NAMES = {name.rpartition(".")[2]: key for key, name in NETWORK_KEYS.items()} | {
    "hidden_layer_sizes": "width", "max_iter": "epochs", "alpha": "l2", "random_state": "seed",
    "learning_rate_init": "lr"}


def unknown_key(path, key, value, declared):
    """The ConfigError for `path+key=value`, a key the schema does not declare (`declared`): the
    key it looks like (a typo, or the estimator's name for it) and the keys there are."""
    close = difflib.get_close_matches(str(key), sorted(declared), n=1)
    if ESTIMATOR_NAMES.get(key, "").rpartition(".")[2] in declared:
        close = [ESTIMATOR_NAMES[key].rpartition(".")[2]]
    hint = f" (did you mean {path}{close[0]}?)" if close else ""
    return ConfigError(f"{path}{key}", value, f"not a key of this config{hint}; the keys here "
                       f"are {', '.join(sorted(declared))}")


def _unknown_override(error):
    """The one line for an override of a key the schema lacks (`widht=3`: Hydra's own message
    advises appending it with +), or None if error is not that."""
    cause = error.__cause__
    kind = getattr(cause, "object_type", None)
    match = re.search(r"use \+(\S+?)=(\S*)", str(error))
    if not (isinstance(cause, ConfigAttributeError | ConfigKeyError) and is_dataclass(kind)
            and match and cause.key is not None):
        return None
    path, value = match.group(1).rpartition(".")[0], match.group(2)
    return str(unknown_key(f"{path}." if path else "", cause.key, value,
                           {f.name for f in fields(kind)}))


def _structured_nodes(cfg, path=""):
    """(dotted path with a trailing dot, node) of every node backed by a schema dataclass."""
    if isinstance(cfg, DictConfig) and is_dataclass(OmegaConf.get_type(cfg)):
        yield path, cfg
        for key in cfg.keys():  # a missing value or an interpolation is no schema's node
            if key != "hydra" and not OmegaConf.is_missing(cfg, key) \
                    and not OmegaConf.is_interpolation(cfg, key):
                yield from _structured_nodes(cfg[key], f"{path}{key}.")


def validate_dataset(ds):
    """Check the dataset group's values; the split must leave every class in each part."""
    p = "dataset."
    present = set(ds.keys())  # `key in ds` raises and catches inside OmegaConf when it is not
    for key in ds:
        if OmegaConf.is_missing(ds, key):  # e.g. dataset=csv without dataset.path
            error = data.missing(ds.name, key)
            raise ConfigError(error.key, error.value, error.problem)
    _one_of(p + "name", ds.name, data.DATASETS)
    _number_in(ds, "test_size", 0, 1, prefix=p, open_low=True)
    _number_in(ds, "val_size", 0, 1, prefix=p, open_low=True)
    _require(ds.test_size + ds.val_size < 1, p + "val_size", ds.val_size,
             f"less than 1 - test_size = {1 - ds.test_size:g} (so the training part is not empty)")
    if "noise" in present:
        _require(_is_number(ds.noise) and ds.noise >= 0, p + "noise", ds.noise,
                 "a finite number >= 0")
    if "factor" in present:
        _number_in(ds, "factor", 0, 1, prefix=p)
    if "cluster_std" in present:
        _require(_is_number(ds.cluster_std) and ds.cluster_std > 0, p + "cluster_std",
                 ds.cluster_std, "a finite number > 0")
    if "class_sep" in present:
        _require(_is_number(ds.class_sep) and ds.class_sep > 0, p + "class_sep", ds.class_sep,
                 "a finite number > 0")
    if "flip_y" in present:
        _number_in(ds, "flip_y", 0, 1, prefix=p, closed_high=True)
    for key in ("n_features", "n_informative", "n_clusters_per_class"):
        if key in present:
            _int_at_least(ds, key, 1, prefix=p)
    for key in ("centers", "n_classes"):
        if key in present:
            _int_at_least(ds, key, 2, prefix=p)
    if "n_redundant" in present:
        _int_at_least(ds, "n_redundant", 0, prefix=p)
        _require(ds.n_informative + ds.n_redundant <= ds.n_features, p + "n_redundant",
                 ds.n_redundant, f"at most n_features - n_informative = "
                 f"{ds.n_features - ds.n_informative}")
        _require(ds.n_classes * ds.n_clusters_per_class <= 2**ds.n_informative, p + "n_classes",
                 ds.n_classes, f"at most 2**n_informative / n_clusters_per_class = "
                 f"{2**ds.n_informative // ds.n_clusters_per_class}")
    if "n_samples" in present:
        _int_at_least(ds, "n_samples", 1, prefix=p)
    if "missing" in present:
        _one_of(p + "missing", ds.missing, data.MISSING)
    if "categorical" in present:
        _one_of(p + "categorical", ds.categorical, data.CATEGORICAL)
    describe_dataset(ds)


def describe_dataset(ds):
    """data.describe() of the dataset group (a DatasetInfo); its DatasetError as a ConfigError."""
    params = OmegaConf.to_container(ds, resolve=True)
    try:
        return data.describe(params.pop("name"), **params)
    except data.DatasetError as error:
        raise ConfigError(error.key, error.value, error.problem) from None


# ---------------------------------------------------------------- Hydra errors as one line
def one_line(error):
    """A Hydra, OmegaConf or ConfigError exception as one line of text (no traceback)."""
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException) and error.options is not None:
        group, _, name = (error.missing_cfg_file or "").rpartition("/")
        options = ", ".join(sorted(error.options))
        return f"{group}={name}: must be one of {options}"
    unknown = _unknown_override(error)
    if unknown is not None:
        return unknown
    if isinstance(error, OverrideParseException):
        return f"cannot parse the override {error.override!r}: {error.message.splitlines()[0]}"
    lines = []
    while error is not None:
        for line in str(error).splitlines():
            line = line.strip()
            skip = ("full_key:", "object_type=", "reference_type=", "See https://", "Available")
            if line and not line.startswith(skip) and line not in lines:
                lines.append(line)
        error = error.__cause__
    return " ".join(lines)


def reject(error, context=""):
    """Exit the program with one line on stderr (status 1): no traceback, nothing run."""
    sys.stderr.flush()
    raise SystemExit(f"config error: {context}{one_line(error)}") from None


def job_seeds(cfg):
    """The seeds a job's config trains: seed, seed+1, …, seed+seeds−1 (a replica and run each)."""
    return [cfg.seed + k for k in range(cfg.seeds)]


def identity_keys(cfg):
    """The resolved config as a plain dict without the control keys: what a run's training is."""
    return {k: OmegaConf.to_container(cfg[k], resolve=True) if isinstance(cfg[k], DictConfig)
            else cfg[k] for k in cfg if k not in CONTROL_KEYS and k != "hydra"}
