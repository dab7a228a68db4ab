"""netlab's Optuna sweeper (`hydra/sweeper=optuna`, `+experiment=optuna`): Optuna's ask-and-tell
on a study (in memory, or shared by several processes through a storage), each trial one job whose
return value (the mean validation accuracy over its seeds) Optuna is told.

The search space is written as for hydra-optuna-sweeper, in `hydra.sweeper.params` or on the
command line: `choice(a, b)` is categorical, `range(1, 4)` integers (or a float grid),
`interval(0.1, 1)` uniform floats (integers if both ends are), `tag(log, interval(…))` log-uniform.
"""

import functools
import logging
import math
from pathlib import Path

from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep, Transformer
from hydra.core.plugins import Plugins
from hydra.utils import get_method, instantiate
from omegaconf import OmegaConf

from netlab.config import ConfigError, reject

from . import jobs
from .sweep import Sweep

log = logging.getLogger(__name__)


def distribution(override):
    """The Optuna distribution a sweep override stands for (None for a plain value)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if not override.is_sweep_override():
        return None
    value = override.value()
    if isinstance(value, ChoiceSweep) or isinstance(value, RangeSweep) and value.shuffle:
        return CategoricalDistribution(list(override.sweep_iterator(Transformer.encode)))
    if isinstance(value, RangeSweep):  # range(start, stop, step): stop excluded, as in Python
        if any(isinstance(v, float) for v in (value.start, value.stop, value.step)):
            steps = math.floor((value.stop - value.start) / value.step - 1e-12)
            return FloatDistribution(value.start, value.start + steps * value.step,
                                     step=value.step)
        last = value.start + (len(range(int(value.start), int(value.stop), int(value.step))) - 1) \
            * int(value.step)
        return IntDistribution(int(value.start), last, step=int(value.step))
    if isinstance(value, IntervalSweep):
        log_scale = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log_scale)
        return FloatDistribution(value.start, value.end, log=log_scale)
    raise ConfigError(override.get_key_element(), override.get_value_element_as_str(),
                      "not a search space Optuna knows (choice, range, interval, tag(log, …))")


def directions(direction):
    """The study's directions as Optuna names them: ['maximize'], ['minimize', …]."""
    values = list(direction) if OmegaConf.is_list(direction) or isinstance(direction, list) \
        else [direction]
    return [str(getattr(d, "name", d)) for d in values]


class OptunaSweeper:
    """The implementation behind hydra_plugins.netlab_sweepers.OptunaSweeper (its config,
    hydra_plugins/netlab_sweepers/config.py, says what each setting is)."""

    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs,
                 max_failure_rate=0.0, params=None, custom_search_space=None):
        self.sampler_config, self.direction, self.storage = sampler, direction, storage
        self.study_name, self.n_trials, self.n_jobs = study_name, n_trials, max(n_jobs, 1)
        self.max_failure_rate, self.params = max_failure_rate, dict(params or {})
        self.custom_search_space = custom_search_space
        self.config = self.hydra_context = self.launcher = None

    def setup(self, *, hydra_context, task_function, config):
        """Keep Hydra's context and config; instantiate the configured launcher."""
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        """Check the search space's corners, open the sweep, ask for and launch the trials batch
        by batch and tell Optuna their values, close the sweep, save the best trial."""
        import optuna

        loader = self.hydra_context.config_loader
        overrides = jobs.last_per_key(jobs.parse([*jobs.params_lines(self.params), *arguments],
                                                 loader))
        try:
            space = {o.get_key_element(): distribution(o) for o in overrides}
        except ConfigError as error:
            reject(error)
        fixed = [f"{key}={o.get_value_element_as_str()}" for (key, d), o
                 in zip(space.items(), overrides, strict=True) if d is None]
        space = {key: d for key, d in space.items() if d is not None}
        corners = jobs.corners(overrides)
        jobs.check(loader, self.config, corners)  # (each corner's values and memory)
        sweep = Sweep(self.config, self.params, corners, self.n_trials)
        hook = get_method(self.custom_search_space) if self.custom_search_space else None
        returns = []
        with sweep.running():  # opens the parent run: from then on an interrupt ends it KILLED
            sweep_dir = Path(self.config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
            study = optuna.create_study(study_name=self.study_name, storage=self.storage,
                                        sampler=self._sampler(space),
                                        directions=directions(self.direction),
                                        load_if_exists=True)
            done = 0
            while done < self.n_trials:
                trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
                batch = []
                for trial in trials:
                    if hook is not None:
                        hook(self.config, trial)
                    batch.append([*fixed, *(f"{k}={v}" for k, v in trial.params.items())])
                sweep.hand_to_jobs({str(done + k): t.number for k, t in enumerate(trials)})
                results = self.launcher.launch(batch, initial_job_idx=done)
                self._tell(study, trials, results)
                done += len(trials)
                returns.append(results)
        self._save_best(study, sweep_dir)
        return returns

    def _sampler(self, space):
        """The configured sampler; a grid sampler gets the space's values as its grid."""
        sampler = self.sampler_config  # Hydra instantiates it with the sweeper
        if OmegaConf.is_config(sampler):
            sampler = instantiate(sampler)
        if isinstance(sampler, functools.partial):  # the grid sampler, waiting for its grid
            grid = {}
            for name, d in space.items():
                if hasattr(d, "choices"):
                    grid[name] = list(d.choices)
                elif d.step is not None and not d.log:
                    count = round((d.high - d.low) / d.step) + 1
                    grid[name] = [d.low + i * d.step for i in range(count)]
                else:
                    reject(ConfigError(name, "interval", "a grid sampler needs choice() or "
                                                         "range() values"))
            sampler = sampler(grid)
            total = math.prod(len(v) for v in grid.values())
            if total < self.n_trials:
                log.info(f"the grid has {total} points: {total} trials, not {self.n_trials}")
                self.n_trials = total
        return sampler

    def _tell(self, study, trials, results):
        """Tell Optuna each trial's value; a NaN (every seed diverged or failed) is a FAIL, as is
        a job that raised, and more of those than max_failure_rate of a batch stops the sweep."""
        from optuna.trial import TrialState

        raised = []
        for trial, result in zip(trials, results, strict=True):
            try:
                value = result.return_value
            except Exception as error:  # noqa: BLE001 - told as a failed trial, raised below
                study.tell(trial, state=TrialState.FAIL)
                raised.append(result)
                log.warning(f"trial {trial.number} failed: {type(error).__name__}: {error}")
                continue
            values = [float(v) for v in (value if isinstance(value, list | tuple) else [value])]
            if all(math.isfinite(v) for v in values):
                study.tell(trial, values=values if len(values) > 1 else values[0])
            else:
                study.tell(trial, state=TrialState.FAIL)
        if raised and len(raised) / len(results) > self.max_failure_rate:
            _ = raised[0].return_value  # the job's own exception stops the sweep

    def _save_best(self, study, sweep_dir):
        """optimization_results.yaml in the sweep's folder: the best trial's params and value."""
        try:
            if len(study.directions) > 1:
                result = {"name": "optuna", "solutions": [
                    {"params": t.params, "values": t.values} for t in study.best_trials]}
            else:
                best = study.best_trial
                result = {"name": "optuna", "best_params": best.params, "best_value": best.value}
        except ValueError:  # no trial completed
            return
        OmegaConf.save(OmegaConf.create(result), sweep_dir / "optimization_results.yaml")
