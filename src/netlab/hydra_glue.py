"""The Hydra glue: everything here plugs netlab into Hydra's lifecycle or reads Hydra's config;
nothing else in src/ imports Hydra (but for the schemas' ConfigStore and the thin src/netlab/run.py).

The life of `python -m src.run -m …` (the Lifecycle callback is wired in conf/config.yaml):
1. cli() turns SIGTERM into an interrupt like Ctrl-C; Hydra composes the master config.
2. Lifecycle.on_multirun_start, in the launching process, before any job:
   a. every job's config is composed once (the composition is cached for Hydra's own check and
      the launcher) and validated; a rejected one exits with one line, nothing created;
   b. the jobs' memory is estimated against the limit (parallel workers together);
   c. the tracking store is opened (created or upgraded once here: parallel jobs on a new SQLite
      file would race its migration), runs a dead process left RUNNING are marked KILLED, and the
      sweep's parent run is opened (or an interrupted sweep's resumed);
   d. every job is handed the sweep's context through Hydra's own `hydra.job.env_set` (in its
      composed config, so it reaches jobs under any launcher, in any process or machine): the
      parent run id, the command typed, the resolved tracking URI, the sweep's size and start.
3. Each job: netlab.run.main -> run_job() -> job_context(), netlab.job.run() (trains, records, prints
   one line); SIGTERM in a job's own process (a scheduler's preemption) ends its runs KILLED.
   Under netlab's launcher (the default, launch()), a resumed sweep's finished jobs are not
   started: netlab.job.skip() prints their line from the runs read as the sweep resumed.
4. Lifecycle.on_multirun_end: the summary in the parent run, which ends FINISHED; what next.
   Interrupted (Ctrl-C, SIGTERM): cli() ends the parent KILLED, prints one line, exits 130 / 143.
   A launcher that gives up (a joblib worker killed): the parent FAILED, its summary, status 1.
A single run (no -m) goes through on_run_start (validate, memory, store) and the same job code.

Why one file of ~800 lines: it is the only module that knows Hydra's runtime (callbacks, the
default launcher, HydraConfig, the composition cache, the command line's signals); split, Hydra
would leak into the modules it was taken out of.
"""

import copy
import functools
import itertools
import logging
import math
import os
import pickle
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from netlab import collector, identity, resources
from netlab.config import ConfigError, identity_keys, job_seeds, one_line, reject, validate
from netlab.tracking.logger import COMMAND_ENV, PARENT_ENV, Interrupted, command_line
from netlab.tracking.store import TrackingUnavailable, resolve_uri

SIZE_ENV, START_ENV, SWEPT_ENV = "NETLAB_SWEEP_SIZE", "NETLAB_SWEEP_START", "NETLAB_SWEPT"
TRIALS_ENV = "NETLAB_OPTUNA_TRIALS"  # job number:trial number of the batch, for Optuna sweeps
SWEEP = {}  # the launching process's sweep: client, parent run id, expected configs, start


# ---------------------------------------------------------------- the jobs of a sweep
def _candidates(override):
    """The values a sweep override can take, as override strings; intervals give both ends."""
    key = override.get_key_element()
    if not override.is_sweep_override():
        return [f"{key}={override.get_value_element_as_str()}"]
    sweep = override.value()
    if isinstance(sweep, IntervalSweep):
        values = [sweep.start, sweep.end]
        return [f"{key}={v:g}" if isinstance(v, float) else f"{key}={v}" for v in values]
    return [f"{key}={v}" for v in override.sweep_string_iterator()]


def sweep_jobs(config):
    """Every job's overrides of the multirun with master config `config` (intervals: both ends),
    in the order and form Hydra's BasicSweeper gives them."""
    params = config.hydra.sweeper.get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items()]
    lines += list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(lines)
    # later overrides of the same key win, as in Hydra's BasicSweeper.split_arguments
    by_key = {o.get_key_element(): o for o in overrides}
    return [list(job) for job in itertools.product(*(_candidates(o) for o in by_key.values()))]


def swept_keys(config):
    """The config keys the sweep varies (more than one value)."""
    jobs = sweep_jobs(config)
    values = {}
    for job in jobs:
        for override in job:
            key, _, value = override.lstrip("+").partition("=")
            values.setdefault(key, set()).add(value)
    return tuple(k for k, v in values.items() if len(v) > 1)


# ---------------------------------------------------------------- one composition per group choice
# Composing a config with Hydra costs ~0.1 s of CPU (its defaults list, YAML files, merges), and
# Hydra composes every job twice (its batch check, then the launcher). The jobs of a sweep differ
# mostly in plain values (activation=tanh, lr=0.1), not in which config files they use (dataset=,
# optimizer=, +experiment=): so each distinct choice of config groups is composed once, and a job's
# config is a copy of it with the job's value overrides applied as Hydra applies them
# (tests/test_config.py checks every study's every job against Hydra's own composition). The copy
# is unpickled from the base pickled once (~1.5 ms a job; copy.deepcopy takes ~8 ms), and each
# distinct override line is parsed once (Hydra's grammar: ~1 ms a line): a 1,000-job sweep reaches
# its first job in ~18 s, was ~28 s.
_BASES = {}  # (hydra overrides, group overrides) -> a copier of that group choice's config
_JOBS = {}  # (hydra overrides, job overrides) -> [config, times handed out]


def _is_group(loader, override):
    """Whether an override picks a config group's option (it changes the defaults list)."""
    if override.is_sweep_override() or isinstance(override.value(), dict):
        return False
    return loader.repository.group_exists(override.key_or_group)


@functools.cache
def _parsed(line):
    """One override line, parsed as Hydra parses it (the result is only read, never changed)."""
    return OverridesParser.create().parse_overrides([line])[0]


def _copier(base):
    """A function that returns a fresh copy of the config base: unpickled from its pickle, or
    deep-copied where it holds a class that pickle cannot find by name (in a joblib worker, Hydra's
    plugin scan has reloaded the launcher's config module since the config was made)."""
    try:
        blob = pickle.dumps(base)
    except Exception:  # noqa: BLE001 - whatever pickle cannot do, a deep copy does
        return functools.partial(copy.deepcopy, base)
    return functools.partial(pickle.loads, blob)


def compose_job(loader, master_config, sweep_overrides):
    """A job's config, as Hydra's load_sweep_config composes it, from its group choice's base."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname

    hydra_overrides = tuple(master_config.hydra.overrides.hydra)
    parsed = [_parsed(line) for line in sweep_overrides]
    picks = [_is_group(loader, o) for o in parsed]  # asks Hydra's config repository: once each
    groups = tuple(o.input_line for o, pick in zip(parsed, picks, strict=True) if pick)
    values = [o for o, pick in zip(parsed, picks, strict=True) if not pick]
    key = (hydra_overrides, groups)
    if key not in _BASES:
        _BASES[key] = _copier(ConfigLoaderImpl.load_sweep_config(loader, master_config,
                                                                 list(groups)))
    cfg = _BASES[key]()
    ConfigLoaderImpl._apply_overrides_to_config(
        [o for o in values if not o.is_hydra_override()], cfg)
    with open_dict(cfg.hydra):
        ConfigLoaderImpl._apply_overrides_to_config(
            [o for o in values if o.is_hydra_override()], cfg)
        app = [o for o in parsed if not o.is_hydra_override()]
        cfg.hydra.overrides.task = [o.input_line for o in app]
        cfg.hydra.overrides.hydra = [*hydra_overrides,
                                     *(o.input_line for o in parsed if o.is_hydra_override())]
        options = cfg.hydra.job.config.override_dirname
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=app, kv_sep=options.kv_sep, item_sep=options.item_sep,
            exclude_keys=options.exclude_keys)
    return cfg


def _load_sweep_config(loader, injected, master_config, sweep_overrides):
    """Hydra's load_sweep_config for the sweep's jobs: composed once per group choice, each job's
    config made once (validation), then handed to Hydra's batch check and to the launcher (the
    second hand-out gives it away); the sweep's context is set in hydra.job.env_set, and a
    relative sweep folder is made absolute where the sweep is launched (Ray runs a job in the
    folder its node was started in)."""
    key = (tuple(master_config.hydra.overrides.hydra), tuple(sweep_overrides))
    entry = _JOBS.get(key)
    if entry is None:
        entry = _JOBS[key] = [compose_job(loader, master_config, sweep_overrides), 0]
    else:
        entry[1] += 1
        if entry[1] >= 2:
            del _JOBS[key]
    cfg = entry[0]
    if injected:
        with open_dict(cfg.hydra.job.env_set):
            cfg.hydra.job.env_set.update(injected)
    sweep_dir = OmegaConf.select(master_config, "hydra.sweep.dir")
    if sweep_dir and not os.path.isabs(sweep_dir):  # a Ray worker's cwd is not the sweep's
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.sweep.dir = os.path.abspath(sweep_dir)
    return cfg


def install_composition_cache(injected):
    """Make the config loader compose as above (and hand jobs `injected`, a dict of environment
    variables filled in later, pickled along to a launcher's workers)."""
    loader = GlobalHydra.instance().config_loader()
    loader.load_sweep_config = functools.partial(_load_sweep_config, loader, injected)
    return loader


# ---------------------------------------------------------------- the lifecycle callback
def experiment_name(config):
    """The experiment: mlflow.experiment, else the study's name (+experiment=…), else netlab."""
    study = OmegaConf.select(config, "hydra.runtime.choices.experiment", default=None)
    return config.mlflow.get("experiment") or study or "netlab"


def _workers(config):
    """How many jobs run at once under the configured launcher."""
    n = OmegaConf.select(config, "hydra.launcher.n_jobs", default=None)
    if n is None:
        return 1
    n = int(n)
    return os.cpu_count() or 1 if n < 0 else max(n, 1)


def _exit_on_error(method):
    """Hydra turns an exception raised in a callback into a warning and goes on: stop instead."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:  # noqa: BLE001 - a bug here must not start the sweep
            if os.environ.get("NETLAB_DEBUG"):
                raise
            from netlab.tracking.store import first_line

            raise SystemExit(f"netlab: {method.__name__} failed: {type(error).__name__}: "
                             f"{first_line(error)} (NETLAB_DEBUG=1 shows the traceback)") from None

    return wrapper


class Lifecycle(Callback):
    """Validation, memory, the tracking store and the sweep's parent run (module docstring)."""

    @_exit_on_error
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A single run: validate, check memory, open the store, before the job starts."""
        try:
            validate(config)
            resources.check(config)
        except ConfigError as error:
            reject(error)
        except MemoryError as error:
            raise SystemExit(f"config error: {error}") from None
        with collector.paused():  # MLflow's imports
            _tracking_or_exit(lambda: _prepare_store(config))

    @_exit_on_error
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Validate every job, check memory, open the store and the parent run; hand it on."""
        injected = {}
        loader = install_composition_cache(injected)
        try:
            jobs = sweep_jobs(config)
        except (HydraException, OmegaConfBaseException) as error:
            reject(error)
        expected, workers = [], _workers(config)
        for job in jobs:
            context = f"in job [{' '.join(job)}]: " if len(jobs) > 1 else ""
            try:
                cfg = loader.load_sweep_config(config, job)
                validate(cfg)
                resources.check(cfg, workers=min(workers, len(jobs)))
            except (ConfigError, HydraException, OmegaConfBaseException) as error:
                reject(error, context=context)
            except MemoryError as error:
                raise SystemExit(f"config error: {context}{error}") from None
            expected.extend(_expected_runs(cfg, job))
        SWEEP.update(expected=expected if _is_grid(config) else None, since=_now_ms(),
                     started=time.time(), swept=swept_keys(config))
        if _plugin_is(config, "sweeper", "OptunaSweeper"):
            _follow_trials(config, injected)
        warming = _warm_workers(config)  # every job is valid: start the workers meanwhile
        with collector.paused():  # MLflow's imports
            _tracking_or_exit(lambda: self._open_sweep(config, injected, len(jobs)))
        if warming is not None:
            warming.join()

    def _open_sweep(self, config, injected, n_jobs):
        from netlab.tracking.sweep import open_parent

        client, experiment_id, uri = _prepare_store(config)
        name = f"{experiment_name(config)} {time.strftime('%Y-%m-%d %H:%M')}"
        params = {f"sweep.{k}": v for k, v in _sweep_params(config).items()}
        params.update(_fixed_params(config, params))
        sweep_hash = identity.config_hash({"sweep": params, "overrides": _overrides(config)})
        parent, resumed = open_parent(client, experiment_id, name, sweep_hash, params,
                                      {"overrides": " ".join(_overrides(config))},
                                      resume=not config.get("force", False))
        SWEEP.update(client=client, parent=parent, experiment=experiment_name(config), uri=uri)
        SWEEP.pop("finished", None)
        if resumed and not config.get("force", False) and \
                _plugin_is(config, "launcher", "NetlabLauncher"):  # what it need not start again
            from netlab.tracking.store import finished_by_hash
            from netlab.tracking.sweep import children

            SWEEP["finished"] = finished_by_hash(children(client, parent, status="FINISHED"))
        _describe_experiment(client, experiment_id, parent)
        injected.update({PARENT_ENV: parent, COMMAND_ENV: command_line(),
                         "MLFLOW_TRACKING_URI": uri, START_ENV: str(SWEEP["started"]),
                         SWEPT_ENV: ",".join(SWEEP["swept"]),
                         SIZE_ENV: str(n_jobs if _is_grid(config) else
                                       OmegaConf.select(config, "hydra.sweeper.n_trials",
                                                        default=n_jobs))})
        print(f"tracking: {'resuming ' if resumed else ''}sweep run {parent} in {uri}",
              file=sys.stderr, flush=True)

    @_exit_on_error
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the sweep in its parent run, end it FINISHED, say what to do next."""
        if "parent" in SWEEP:
            _tracking_or_exit(lambda: close_sweep("FINISHED"))


def _describe_experiment(client, experiment_id, parent):
    """The experiment's description (MLflow's note): the study's question, the command that ran
    it, how to read its runs, where its report is."""
    from netlab.report.design import question, study_file
    from netlab.report.notes import NOTE, experiment_note
    from netlab.tracking.store import set_shared_tag

    experiment = SWEEP["experiment"]
    link = f"#/experiments/{experiment_id}/runs/{parent}/artifacts"
    note = experiment_note(experiment, command_line(), SWEEP["swept"],
                           question(study_file(experiment)), link)
    set_shared_tag(client.set_experiment_tag, experiment_id, NOTE, note)


def _summarise_in_note(client, parent, runs, heading):
    """The sweep run's note: the summary table over seeds of every configuration it holds."""
    from netlab.report.notes import NOTE, parent_note
    from netlab.tracking.store import set_shared_tag

    set_shared_tag(client.set_tag, parent, NOTE, parent_note(runs, heading))


def close_sweep(status, interrupted=None, error=None):
    """End the open sweep's parent run with status; returns its summary, which it prints with
    what next unless the sweep was interrupted (`interrupted`: why; the interrupt's one line says
    it). error: why the sweep stopped. A store that fails here is said in one line."""
    from netlab.recording import log_best_model
    from netlab.tracking.store import TrackingUnavailable, failure_line
    from netlab.tracking.sweep import children, close_parent, settle_children

    parent = SWEEP.pop("parent")
    SWEEP.pop("finished", None)
    client = SWEEP["client"]
    unlogged = None  # why the best run's model could not be logged: the sweep then FAILED
    try:
        runs = children(client, parent)  # read once or twice: a sweep may hold 1,000s of runs
        if status == "FINISHED":
            try:
                log_best_model(client, parent, runs)
            except Exception as e:  # noqa: BLE001 - the parent still ends, saying why
                unlogged = ("could not log the best run's model: "
                            f"{failure_line(client.tracking_uri, e)}")
                status, error = "FAILED", unlogged
        runs = settle_children(client, parent, runs, interrupted)
        text = close_parent(client, parent, runs, status, SWEEP.get("expected"),
                            SWEEP.get("since", 0), error=error)
        _summarise_in_note(client, parent, runs, text.splitlines()[0])
        if unlogged:
            raise TrackingUnavailable(f"sweep run {parent} FAILED: {unlogged}")
    except TrackingUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - one line, and what to do
        raise TrackingUnavailable(f"sweep run {parent} could not be closed: "
                                  f"{failure_line(client.tracking_uri, e)}; the same command "
                                  "resumes it") from None
    if interrupted is None:
        print(text, file=sys.stderr)
        print(next_steps(client.tracking_uri, SWEEP["experiment"]), file=sys.stderr, flush=True)
    return text


def next_steps(uri, experiment):
    """The lines that say where the runs are and how to see them."""
    store = "" if uri == resolve_uri() or "MLFLOW_TRACKING_URI" in os.environ and \
        uri == os.environ["MLFLOW_TRACKING_URI"] else f"MLFLOW_TRACKING_URI={uri} "
    if uri.startswith("http"):
        ui = f"{uri}  (the runs of '{experiment}' are under Experiments)"
    else:
        ui = f"{store}make ui STUDY={experiment}   (serves the MLflow UI and prints the link)"
    return (f"experiment '{experiment}': see the runs with  {ui}\n"
            f"  the study report:  {store}.venv/bin/python -m src.report {experiment}")


def _prepare_store(config):
    """Open config's store, its experiment, mark stale runs: (client, experiment id, uri)."""
    from netlab.tracking.store import get_or_create_experiment, mark_stale_runs_killed, open_store

    uri = resolve_uri(config.mlflow.get("tracking_uri"))
    client = open_store(uri)
    experiment_id = get_or_create_experiment(client, experiment_name(config))
    stale = mark_stale_runs_killed(client, experiment_id)
    if stale:
        print(f"tracking: marked {len(stale)} run(s) left RUNNING by a dead process as KILLED",
              file=sys.stderr)
    return client, experiment_id, uri


def _tracking_or_exit(step):
    """Run a tracking step; a store that cannot be used ends the program in one line."""
    try:
        return step()
    except TrackingUnavailable as error:
        raise SystemExit(f"tracking: {error}") from None
    except Exception as error:  # noqa: BLE001 - Hydra would only warn; stop the sweep instead
        from netlab.tracking.store import first_line

        raise SystemExit(f"tracking: {type(error).__name__}: {first_line(error)}") from None


def _now_ms():
    return int(time.time() * 1000)


def _plugin_is(config, kind, name):
    """Whether config's Hydra plugin of kind ("sweeper", "launcher") is the class called name."""
    target = OmegaConf.select(config, f"hydra.{kind}._target_", default="") or ""
    return target.endswith(name)


def _is_grid(config):
    """Whether the sweep's jobs are known in advance (Hydra's basic sweeper, not Optuna)."""
    return _plugin_is(config, "sweeper", "BasicSweeper")


# ---------------------------------------------------------------- Optuna's trials
def _follow_trials(config, injected):
    """Hand each job its Optuna trial's number (tag `optuna.trial`): the sweeper passes a job its
    overrides only, and numbers jobs per process (two processes sharing a study number theirs
    alike), but it calls its search-space hook (`custom_search_space`) once per trial, in the
    order it numbers the jobs it then launches. Also makes Optuna 2's storages work on SQLAlchemy
    2 (hydra-optuna-sweeper pins optuna<3)."""
    from hydra.utils import get_method

    sweeper = config.hydra.sweeper
    user_hook = sweeper.get("custom_search_space")
    SWEEP.update(trials=[], injected=injected,
                 user_hook=get_method(user_hook) if user_hook else None,
                 batch=max(int(sweeper.get("n_jobs") or 1), 1))
    with read_write(sweeper), open_dict(sweeper):
        sweeper.custom_search_space = f"{__name__}.remember_trial"
    if sweeper.get("storage"):
        optuna_storage_compat()


def remember_trial(config, trial):
    """The Optuna sweeper's search-space hook (in the sweeping process, once per trial, before its
    job is composed): the trial numbers of the batch's jobs go to them in hydra.job.env_set."""
    if SWEEP.get("user_hook"):
        SWEEP["user_hook"](config, trial)
    numbers = SWEEP["trials"]
    numbers.append(trial.number)  # the k-th trial of this process is its job number k
    first = max(len(numbers) - SWEEP["batch"], 0)  # the jobs before this batch have run
    SWEEP["injected"][TRIALS_ENV] = ",".join(f"{k}:{numbers[k]}"
                                             for k in range(first, len(numbers)))


def optuna_storage_compat():
    """Optuna 2.10 stamps its storage's schema version on a connection it never commits, which
    SQLAlchemy 2 rolls back: a new RDB storage then fails (AssertionError in get_current_version).
    Stamp and read the version in transactions of their own (Optuna >= 3 needs none of this)."""
    import alembic.migration
    import optuna
    import sqlalchemy
    from optuna.storages._rdb import storage as rdb

    if int(optuna.__version__.split(".")[0]) >= 3 or \
            int(sqlalchemy.__version__.split(".")[0]) < 2:
        return

    def _set_alembic_revision(self, revision):
        with self.engine.begin() as connection:
            alembic.migration.MigrationContext.configure(connection).stamp(
                self._create_alembic_script(), revision)

    def get_current_version(self):
        with self.engine.connect() as connection:
            version = alembic.migration.MigrationContext.configure(
                connection).get_current_revision()
        assert version is not None
        return version

    rdb._VersionManager._set_alembic_revision = _set_alembic_revision
    rdb._VersionManager.get_current_version = get_current_version


def _overrides(config):
    return [o for o in OmegaConf.select(config, "hydra.overrides.task", default=[]) or []
            if not o.lstrip("+").startswith(("force=", "mlflow."))]


def _sweep_params(config):
    """{key: the values swept, as typed} of the sweeper's params and the command line's sweeps."""
    params = dict(OmegaConf.to_container(config.hydra.sweeper, resolve=True).get("params") or {})
    for override in OverridesParser.create().parse_overrides(list(config.hydra.overrides.task)):
        if override.is_sweep_override():
            params[override.get_key_element()] = override.input_line.partition("=")[2]
    return {k.lstrip("+"): str(v) for k, v in params.items()}


def _fixed_params(config, swept):
    """{key: value} of the master config's identity keys that the sweep does not vary."""
    from netlab.tracking.logger import flatten

    flat = flatten(identity_keys(config))
    return {k: v for k, v in flat.items() if f"sweep.{k}" not in swept
            and f"sweep.{k.split('.')[0]}" not in swept}


def _expected_runs(cfg, job):
    """[(config_hash, label)] of the runs a job's config asks for (one per seed)."""
    seeds = job_seeds(cfg)
    label = " ".join(o for o in job if not o.startswith("+experiment="))
    hashes, _ = identity.of_job(cfg, seeds)
    return [(chash, label + (f" seed={seed}" if cfg.seeds > 1 else ""))
            for (chash, _), seed in zip(hashes, seeds, strict=True)]


# ---------------------------------------------------------------- a job's context
def job_context(cfg, hydra_cfg=None):
    """The JobContext of the running Hydra job (HydraConfig, or the job's hydra_cfg, and the
    sweep's env_set)."""
    from netlab.job import JobContext  # the job's code, imported where a job runs

    hydra_cfg = hydra_cfg if hydra_cfg is not None else HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    overrides = list(hydra_cfg.overrides.task)
    start = os.environ.get(START_ENV)
    swept = tuple(k for k in os.environ.get(SWEPT_ENV, "").split(",") if k) if multirun else ()
    tags = {}
    trials = dict(pair.split(":") for pair in os.environ.get(TRIALS_ENV, "").split(",") if pair)
    if multirun and str(hydra_cfg.job.num) in trials:
        tags = {"optuna.trial": trials[str(hydra_cfg.job.num)],
                "optuna.study": OmegaConf.select(hydra_cfg, "sweeper.study_name", default="")}
    return JobContext(tags=tags,
        tracking_uri=resolve_uri(cfg.mlflow.tracking_uri),
        experiment=cfg.mlflow.experiment or hydra_cfg.runtime.choices.get("experiment")
        or "netlab",
        overrides=overrides, swept=swept, multirun=multirun,
        job_num=hydra_cfg.job.num if multirun else None,
        parent_run_id=os.environ.get(PARENT_ENV) if multirun else None,
        sweep_size=int(os.environ[SIZE_ENV]) if multirun and SIZE_ENV in os.environ else None,
        sweep_start=float(start) if multirun and start else None,
        output_dir=Path(hydra_cfg.runtime.output_dir), force=bool(cfg.get("force", False)))


def run_job(cfg, run, hydra_cfg=None):
    """Run one job (`run(cfg, context)`, netlab.job.run). In a process of its own (a SLURM job, a Ray
    or joblib worker), SIGTERM ends the job's runs KILLED: the scheduler preempted or cancelled
    it; the job prints its line and returns NaN, so the sweep goes on and reports it, and a rerun
    trains it. In the launching process the interrupt goes on to cli(), which ends the sweep."""
    own = threading_main() and signal.getsignal(signal.SIGTERM) is not _interrupt
    if own:  # submitit's handler only logs SIGTERM; a Ray worker gets its own back after the job
        previous = signal.signal(signal.SIGTERM, _interrupt)
    context = job_context(cfg, hydra_cfg)
    try:
        return run(cfg, context)
    except Interrupted as error:
        if "parent" in SWEEP or not context.multirun:
            raise
        print(f"{context.head()}: KILLED by {error.signal_name} (its runs end KILLED; rerunning "
              "the sweep trains them)", flush=True)
        return math.nan
    finally:
        if own and previous is not None:  # None: a handler not set from Python, left as is
            signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- netlab's launcher
# `hydra/launcher=netlab`, conf/config.yaml's default (registered by hydra_plugins/netlab_launcher):
# Hydra's basic launcher, jobs one after the other in this process, with two differences measured
# by benchmarks/sweep.py:
# - a job of a resumed sweep whose every run FINISHED in it (read once, as the sweep resumed) is
#   not started: it prints its line and writes its results.yaml from those runs (netlab.job.skip),
#   ~7 ms where Hydra's run_job and the job's own look at the store took ~120 ms. Only where a
#   started job would do nothing more: it logs to the sweep's experiment and store, is not forced,
#   and asks for no .hydra/ folder, other callback, change of directory or ${hydra:…} folder;
# - a started job's config is copied twice, not four times (`_run_job`): the config is the job's
#   own (compose_job made it), so the copy of its hydra node HydraConfig keeps is also the job's
#   hydra_cfg, and HydraConfig is set once, where Hydra sets it twice (~15 ms a job).
log = logging.getLogger("hydra_plugins.netlab_launcher")  # as Hydra's launcher plugins name theirs


def launch(launcher, job_overrides, initial_job_idx):
    """Hydra's BasicLauncher.launch, each job started by _run_job, or not at all (_finished_job)."""
    from hydra.core.utils import configure_log, filter_overrides, setup_globals

    setup_globals()
    config, hydra_context = launcher.config, launcher.hydra_context
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    log.info(f"Launching {len(job_overrides)} jobs locally")
    runs = []
    for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        cfg = hydra_context.config_loader.load_sweep_config(config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = idx
            cfg.hydra.job.num = idx
        runs.append(_finished_job(cfg) or _run_job(hydra_context, launcher.task_function, cfg))
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    return runs


def _output_dir(cfg):
    """A sweep job's folder: hydra.sweep.dir / hydra.sweep.subdir, absolute."""
    return os.path.abspath(os.path.join(str(OmegaConf.select(cfg, "hydra.sweep.dir")),
                                        str(OmegaConf.select(cfg, "hydra.sweep.subdir"))))


def _finished_job(cfg):
    """The JobReturn of a job whose every run FINISHED in the sweep this process resumes, not
    started (its line and results.yaml written as the job writes them); None for any other job.
    Its cfg keeps its hydra node (a started job's JobReturn has them apart); nothing reads them."""
    from hydra.core.utils import JobReturn, JobStatus, env_override

    finished = SWEEP.get("finished")
    if not finished or not _may_leave_unstarted(cfg):
        return None
    seeds = job_seeds(cfg)
    hashes, _ = identity.of_job(cfg, seeds)
    if not all(chash in finished for chash, _ in hashes):
        return None
    output_dir = _output_dir(cfg)
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = output_dir
    ret = JobReturn(overrides=list(cfg.hydra.overrides.task), cfg=cfg, hydra_cfg=cfg,
                    working_dir=os.getcwd(), task_name=cfg.hydra.job.name)
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        import_job_code()
        from netlab import job

        done = {chash: finished[chash] for chash, _ in hashes}
        with env_override(cfg.hydra.job.env_set):
            ret.return_value = run_job(cfg, functools.partial(job.skip, hashes=hashes, done=done),
                                       cfg.hydra)
        ret.status = JobStatus.COMPLETED
    except Exception as e:  # noqa: BLE001 - as Hydra's run_job: the JobReturn holds it
        ret.return_value = e
        ret.status = JobStatus.FAILED
    return ret


def _may_leave_unstarted(cfg):
    """Whether a job whose runs all finished may be left unstarted: a started job would do no more
    than say so (it logs to the sweep's experiment and store, is not forced, and asks for no
    .hydra/ folder, other callback, change of directory, or folder named by ${hydra:…})."""
    hydra = cfg.hydra
    return (not cfg.get("force", False) and experiment_name(cfg) == SWEEP.get("experiment")
            and resolve_uri(cfg.mlflow.get("tracking_uri")) == SWEEP.get("uri")
            and hydra.output_subdir is None and set(hydra.callbacks or {}) <= {"netlab"}
            and not hydra.job.chdir and "${hydra:" not in OmegaConf.to_yaml(hydra.sweep))


def _run_job(hydra_context, task_function, config):
    """hydra.core.utils.run_job for a job config of the launcher's own, with two copies of it
    instead of four (above); otherwise step for step as Hydra's."""
    from hydra import version
    from hydra.core.utils import (
        JobReturn,
        JobRuntime,
        JobStatus,
        _flush_loggers,
        _save_config,
        configure_log,
        env_override,
    )

    callbacks = hydra_context.callbacks
    old_cwd, orig_hydra_cfg = os.getcwd(), HydraConfig.instance().cfg
    HydraConfig.instance().set_config(config)  # for ${hydra:…} in the job's folder
    output_dir = _output_dir(config)
    hydra_cfg = HydraConfig.instance().cfg  # its own copy of config's hydra node
    for node in (config.hydra.runtime, hydra_cfg.hydra.runtime):
        with read_write(node), open_dict(node):
            node.output_dir = output_dir
    chdir = hydra_cfg.hydra.job.chdir
    if chdir is None:  # as Hydra decides it (without its warning for version_base < 1.2)
        chdir = not version.base_at_least("1.2")
    try:
        ret = JobReturn()
        task_cfg = copy.deepcopy(config)
        with read_write(task_cfg), open_dict(task_cfg):
            del task_cfg["hydra"]
        ret.cfg, ret.hydra_cfg = task_cfg, hydra_cfg
        ret.overrides = OmegaConf.to_container(config.hydra.overrides.task)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        if chdir:
            os.chdir(output_dir)
        ret.working_dir = output_dir if chdir else os.getcwd()
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        if config.hydra.output_subdir is not None:
            hydra_output = Path(output_dir) / Path(config.hydra.output_subdir)
            _save_config(task_cfg, "config.yaml", hydra_output)
            _save_config(hydra_cfg, "hydra.yaml", hydra_output)
            _save_config(config.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(hydra_cfg.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as e:  # noqa: BLE001 - as Hydra: the JobReturn holds it
                ret.return_value = e
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg
        if chdir:
            os.chdir(old_cwd)


# ---------------------------------------------------------------- the command line
def _interrupt(signum, frame):
    """Ctrl-C (SIGINT) or SIGTERM: raise Interrupted once; a second signal must not cut the
    tidy-up short (runs ending KILLED, the parent's summary), so it is ignored from now on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted("Ctrl-C", 130) if signum == signal.SIGINT else Interrupted("SIGTERM", 143)


def cli(main):
    """Run the Hydra entry main(); errors Hydra or validation raise end as one line (status 1),
    Ctrl-C and SIGTERM end the sweep's runs KILLED, print one line, exit 130 / 143; a sweep the
    launcher gives up on (a worker process died) ends FAILED, its summary printed, status 1."""
    collector.resume()  # netlab.run paused it for the command's imports
    if threading_main():
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
    full = os.environ.get("HYDRA_FULL_ERROR") == "1"  # the user asked for full tracebacks
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's errors reach us instead of printing them
    try:
        return main()
    except (ConfigError, HydraException, OmegaConfBaseException) as error:
        if full:
            raise
        raise SystemExit(f"config error: {one_line(error)}") from None
    except KeyboardInterrupt as error:
        code = getattr(error, "exit_code", 130)
        what = getattr(error, "signal_name", "Ctrl-C")
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the tidy-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop_workers()
        note = ""
        if "parent" in SWEEP:
            parent = SWEEP["parent"]
            text = _tracking_or_exit(lambda: close_sweep("KILLED", f"interrupted by {what}"))
            note = (f"; sweep run {parent} KILLED ({text.splitlines()[0].split(': ', 1)[1]}); "
                    "the same command resumes it")
        print(f"interrupted by {what}{note}", file=sys.stderr, flush=True)
        sys.exit(code)
    except Exception as error:
        if full or os.environ.get("NETLAB_DEBUG") or "parent" not in SWEEP:
            raise
        _stop_workers()
        why = _launcher_failure(error)
        parent = SWEEP["parent"]
        text = _tracking_or_exit(lambda: close_sweep("FAILED", error=why))
        print(f"sweep stopped: {why}; sweep run {parent} FAILED "
              f"({text.splitlines()[0].split(': ', 1)[1]}); the same command resumes it",
              file=sys.stderr, flush=True)
        sys.exit(1)


def _launcher_failure(error):
    """What made the launcher give up on the sweep, in one line."""
    from concurrent.futures.process import BrokenProcessPool

    from netlab.tracking.store import first_line

    if isinstance(error, BrokenProcessPool):
        codes = re.search(r"exit codes of the workers are (\{.*?\})", str(error))
        return "a worker process died" + (f" (exit codes {codes.group(1)})" if codes else "")
    return f"{type(error).__name__}: {first_line(error)}"


def threading_main():
    """Whether this is the main thread (signal handlers can only be set there)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def _warm_workers(config):
    """Under the joblib launcher, start its worker processes now, each importing what a job needs,
    while this process opens the store and the parent run; returns the thread to join before the
    launch (None under another launcher). The launcher's own Parallel(**the same options) then
    reuses these workers: loky keeps one executor per process for calls with equal options."""
    if not _plugin_is(config, "launcher", "JoblibLauncher"):
        return None
    import threading

    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, delayed

    options = {k: v for k, v in OmegaConf.to_container(config.hydra.launcher, resolve=True)
               .items() if k != "_target_"}
    options["backend"] = "loky"  # as the launcher sets it
    process_joblib_cfg(options)

    def warm():
        try:
            Parallel(**options)(delayed(_ready_worker)() for _ in range(_workers(config)))
        except Exception:  # noqa: BLE001 - the launch itself will say what is wrong
            pass

    thread = threading.Thread(target=warm, name="netlab-warm-workers", daemon=True)
    thread.start()
    return thread


# the libraries a job imports before it trains: scikit-learn for its data, MLflow's database store
# for the runs that claim it (benchmarks/sweep.py times them as start-up's floor)
JOB_LIBRARIES = ("sklearn.datasets", "sklearn.model_selection", "sklearn.preprocessing",
                 "mlflow.store.tracking.sqlalchemy_store")
JOB_CODE = ("netlab.job", "netlab.run", "mlflow.entities")


def _ready_worker():
    """In a launcher's worker: import what a job needs; returns the worker's pid."""
    import_job_code()
    return os.getpid()


@functools.cache
def import_job_code():
    """Import what a job needs (JOB_LIBRARIES, the job's code and what it draws and records with),
    once a process, with the garbage collector paused (src/netlab/collector.py)."""
    import importlib

    with collector.paused():
        for module in (*JOB_LIBRARIES, *JOB_CODE):
            importlib.import_module(module)


def _stop_workers():
    """Stop the joblib launcher's worker processes, if any, so their runs can be marked."""
    executor = getattr(sys.modules.get("joblib.externals.loky.reusable_executor"), "_executor",
                       None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
