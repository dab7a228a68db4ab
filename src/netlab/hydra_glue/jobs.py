"""A sweep's jobs before any runs: their overrides, each one composed and checked, what the sweep
is (its swept and fixed keys, the runs it asks for).

Every job is composed by Hydra's own config loader (the one the sweeper is given) and validated
here, before the first job starts, so that a wrong value in the last job fails the sweep in one
line with nothing created.
"""

import copy
import functools
import itertools
import os

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep
from hydra.errors import HydraException
from omegaconf import OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from netlab import identity, resources
from netlab.config import ConfigError, identity_keys, job_seeds, reject, validate


def parse(lines, config_loader=None):
    """Override lines parsed as Hydra parses them (with the loader: glob() sees config groups)."""
    try:
        return OverridesParser.create(config_loader=config_loader).parse_overrides(list(lines))
    except (HydraException, OmegaConfBaseException) as error:
        reject(error)


def params_lines(params):
    """A sweeper's `params` ({key: sweep}) as override lines; the command line's come after."""
    return [f"{key}={value}" for key, value in (params or {}).items()]


def last_per_key(overrides):
    """The overrides, a key's later one winning (as Hydra's BasicSweeper.split_arguments)."""
    return list({o.get_key_element(): o for o in overrides}.values())


def grid(overrides):
    """Every job's overrides of a grid: the cartesian product of the values of each override, in
    the order Hydra's basic sweeper gives them; an interval cannot be a grid's values."""
    values = []
    for override in last_per_key(overrides):
        key = override.get_key_element()
        if not override.is_sweep_override():
            values.append([f"{key}={override.get_value_element_as_str()}"])
        elif override.is_discrete_sweep():
            values.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            reject(ConfigError(key, override.get_value_element_as_str(),
                               "an interval() can only be searched (+experiment=optuna or "
                               "hydra/sweeper=optuna), not swept as a grid"))
    return [list(job) for job in itertools.product(*values)]


def corners(overrides):
    """Jobs that stand for a search space's every value to check: each override's values (an
    interval's two ends), combined as a grid would (used to check an Optuna study's space)."""
    values = []
    for override in last_per_key(overrides):
        key = override.get_key_element()
        if not override.is_sweep_override():
            values.append([f"{key}={override.get_value_element_as_str()}"])
        elif isinstance(override.value(), IntervalSweep):
            sweep = override.value()
            values.append([f"{key}={v:g}" if isinstance(v, float) else f"{key}={v}"
                           for v in (sweep.start, sweep.end)])
        else:
            values.append([f"{key}={v}" for v in override.sweep_string_iterator()])
    return [list(job) for job in itertools.product(*values)]


def workers(config):
    """How many jobs run at once under the configured launcher."""
    n = OmegaConf.select(config, "hydra.launcher.n_jobs", default=None)
    if n is None:
        return 1
    n = int(n)
    return os.cpu_count() or 1 if n < 0 else max(n, 1)


def check(config_loader, master, jobs, at_once=None, fewer=False):
    """Compose every job and check its values and memory, with at_once jobs running together (by
    default, as many as the configured launcher runs; fewer=True: as many of those as memory
    allows, down to one); the first bad one ends the program in one line. Returns each job's
    config (without its hydra node), in order, and how many jobs may run at once."""
    at_once = at_once or workers(master)
    configs, n, composer = [], min(at_once, len(jobs)) or 1, Composer(config_loader, master)
    for job in jobs:
        context = f"in job [{' '.join(job)}]: " if len(jobs) > 1 else ""
        try:
            cfg = composer(job)
            validate(cfg)
            while True:
                try:
                    # (the sweeper's own workers: each a process of its own to count too)
                    resources.check(cfg, workers=n,
                                    overhead=resources.WORKER_BYTES if fewer and n > 1 else 0)
                    break
                except MemoryError:
                    if not fewer or n == 1:
                        raise
                    n -= 1
        except (ConfigError, HydraException, OmegaConfBaseException) as error:
            reject(error, context=context)
        except MemoryError as error:
            raise SystemExit(f"config error: {context}{error}") from None
        configs.append(cfg)
    return configs, n


class Composer:
    """A job's app config as Hydra composes it, for checking, at a fraction of the cost.

    Composing a config is Hydra's heaviest step (its defaults list, the YAML files, the merges), and
    checking a sweep would repeat it for every job. The jobs of a sweep mostly differ in plain
    values (lr=0.1, activation=tanh), which Hydra applies to the composed config with
    OmegaConf.update: so each choice of config groups (dataset=, optimizer=, +experiment=) is
    composed once by Hydra's config loader, and a job's plain values are set on a copy of it the
    same way. A job with any other override (+key, ++key, ~key, hydra.*), or one whose values do
    not apply, is composed by Hydra itself, whose error is the one shown. The launcher composes
    every job again with Hydra, where it runs."""

    def __init__(self, config_loader, master):
        self.loader, self.master, self.bases = config_loader, master, {}
        self.groups = _group_paths(config_loader)

    def __call__(self, job):
        """The job's config without its hydra node (`job`: its override lines)."""
        parsed = [parse_line(line) for line in job]
        picks = [o for o in parsed if o.key_or_group.lstrip("+") in self.groups]
        plain = [o for o in parsed if o not in picks]
        if any(o.is_add() or o.is_force_add() or o.is_delete() or o.is_hydra_override()
               or o.is_sweep_override() for o in plain):
            return self._hydra(job)
        key = tuple(o.input_line for o in picks)
        if key not in self.bases:
            self.bases[key] = self._hydra(list(key))
        cfg = copy.deepcopy(self.bases[key])
        try:
            for override in plain:
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
        except OmegaConfBaseException:
            return self._hydra(job)  # Hydra's own words for what is wrong
        return cfg

    def _hydra(self, job):
        cfg = self.loader.load_sweep_config(master_config=self.master, sweep_overrides=list(job))
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]  # not needed to check a job, and most of what a copy would copy
        return cfg


def _group_paths(config_loader):
    """Every config group's path ('dataset', 'hydra/launcher', …) the loader knows."""
    found, todo = set(), [""]
    while todo:
        parent = todo.pop()
        for name in config_loader.list_groups(parent):
            path = f"{parent}/{name}" if parent else name
            found.add(path)
            todo.append(path)
    return found


@functools.cache
def parse_line(line):
    """One override line, parsed as Hydra parses it (the result is only read)."""
    return OverridesParser.create().parse_overrides([line])[0]


def swept_keys(jobs):
    """The config keys the jobs give more than one value."""
    values = {}
    for job in jobs:
        for override in job:
            key, _, value = override.lstrip("+").partition("=")
            values.setdefault(key, set()).add(value)
    return tuple(k for k, v in values.items() if len(v) > 1)


def expected_runs(cfg, job):
    """[(config_hash, label)] of the runs a job's config asks for (one per seed)."""
    seeds = job_seeds(cfg)
    label = " ".join(o for o in job if not o.startswith("+experiment="))
    hashes, _ = identity.of_job(cfg, seeds)
    return [(chash, label + (f" seed={seed}" if cfg.seeds > 1 else ""))
            for (chash, _), seed in zip(hashes, seeds, strict=True)]


def task_overrides(config):
    """The command line's overrides of the app's config, but those of where runs are logged."""
    return [o for o in OmegaConf.select(config, "hydra.overrides.task", default=[]) or []
            if not o.lstrip("+").startswith(("force=", "mlflow."))]


def sweep_params(params, config):
    """{key: the values swept, as typed} of the sweeper's params and the command line's sweeps."""
    found = {k: str(v) for k, v in (params or {}).items()}
    for override in parse(config.hydra.overrides.task):
        if override.is_sweep_override():
            found[override.get_key_element()] = override.input_line.partition("=")[2]
    return {k.lstrip("+"): v for k, v in found.items()}


def fixed_params(config, swept):
    """{key: value} of the master config's identity keys that the sweep (swept: its keys) does
    not vary."""
    from netlab.tracking.logger import flatten

    flat = flatten(identity_keys(config))
    return {k: v for k, v in flat.items() if k not in swept and k.split(".")[0] not in swept}


def of_config(config, config_loader=None):
    """The jobs a composed multirun config (with its hydra node) asks for: the grid's, or for an
    Optuna search the corners of its space (what is checked before it starts)."""
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    overrides = parse([*params_lines(params), *config.hydra.overrides.task], config_loader)
    target = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
    return corners(overrides) if target.endswith("OptunaSweeper") else grid(overrides)
