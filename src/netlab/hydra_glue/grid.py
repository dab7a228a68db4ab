"""netlab's grid sweeper (`hydra/sweeper=netlab`, the default): the cartesian product of the
command line's and the study's values, as Hydra's basic sweeper makes it, with every job checked
before the first starts and the sweep's parent run around the jobs. Configurations that a stack of
replicas can hold together (the same network, different learning rates, seeds, …) are launched as
one job (packing.py). Jobs run under whichever launcher the config names (joblib, SLURM, Ray,
Hydra's basic one); when it names none, on joblib's workers, one per core (`at_once`)."""

import sys
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.utils import instantiate
from omegaconf import OmegaConf

from netlab.config import ConfigError, reject

from . import jobs, packing
from .sweep import Sweep


class GridSweeper:
    """The implementation behind hydra_plugins.netlab_sweepers.NetlabSweeper."""

    def __init__(self, max_batch_size=None, params=None, seeds_auto=None, pack=True, workers=0):
        self.max_batch_size, self.params = max_batch_size, dict(params or {})
        self.pack = pack  # configurations a stack can hold trained as one job (packing.pack)
        self.seeds_auto = seeds_auto  # the most seeds `seeds=auto` may reach; None: off
        self.workers = workers  # with no launcher chosen: jobs at once (0: every core)
        self.config = self.hydra_context = self.task_function = self.launcher = None

    def setup(self, *, hydra_context, task_function, config):
        """Keep Hydra's context and config; instantiate the configured launcher."""
        self.hydra_context, self.config = hydra_context, config
        self.task_function = task_function
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def at_once(self, n_jobs):
        """How many of n_jobs jobs the sweeper runs at once on joblib's workers of its own: 1
        (the configured launcher runs them) when a launcher is chosen (`hydra/launcher=…`, basic
        included) or hydra.sweeper.workers is 1; else hydra.sweeper.workers, 0 meaning every
        core, at most one per job. Each worker trains with one BLAS thread, so the results are
        bit-identical to one job after another."""
        try:
            wanted = int(self.workers)
        except (TypeError, ValueError):
            wanted = -1
        if wanted < 0:
            reject(ConfigError("hydra.sweeper.workers", self.workers,
                               "0 (every core) or how many jobs run at once (1: one after "
                               "another); $NETLAB_WORKERS sets its default"))
        chosen = OmegaConf.select(self.config, "hydra.runtime.choices", default={}) or {}
        named = [o for o in OmegaConf.select(self.config, "hydra.overrides.hydra", default=[])
                 if o.split("=")[0].lstrip("+~").removeprefix("override ") == "hydra/launcher"]
        if chosen.get("hydra/launcher") != "basic" or named:
            return 1
        if wanted == 0:
            import joblib

            wanted = joblib.cpu_count()
        return max(1, min(wanted, n_jobs))

    def workers_launcher(self, n, what, by_memory):
        """Hydra's joblib launcher with n workers (its plugin's defaults otherwise), set up as
        Hydra sets up the configured one; the sweep's first line says so (what: its runs and
        jobs; by_memory: the memory limit held fewer than asked)."""
        defaults = ConfigStore.instance().load("hydra/launcher/joblib.yaml").node
        launcher = instantiate(defaults, n_jobs=n)
        launcher.setup(hydra_context=self.hydra_context, task_function=self.task_function,
                       config=self.config)
        why = ("every core; hydra.sweeper.workers=1 runs them one after another"
               if int(self.workers) == 0 else f"hydra.sweeper.workers={self.workers}")
        why += "; as many as fit in the memory limit" if by_memory else ""
        print(f"sweep: {what}, {n} at once on joblib's workers ({why})", file=sys.stderr,
              flush=True)
        return launcher

    def sweep(self, arguments):
        """The grid's sweep (see grid_sweep), or with seeds=auto its rounds (seeds_auto.rounds);
        returns the launcher's results, one list per batch."""
        if self.seeds_auto is None:
            return self.grid_sweep(arguments)
        from .seeds_auto import rounds

        return rounds(self.grid_sweep, arguments, self.seeds_auto, self.config)

    def grid_sweep(self, arguments):
        """Check every job, open the sweep, launch the jobs in batches, close the sweep; returns
        the launcher's results, one list per batch."""
        loader = self.hydra_context.config_loader
        overrides = jobs.parse([*jobs.params_lines(self.params), *arguments], loader)
        grid = jobs.grid(overrides)
        wanted = self.at_once(len(grid))  # > 1: the jobs run on the sweeper's own joblib workers
        configs, fit = jobs.check(loader, self.config, grid, wanted if wanted > 1 else None,
                                  fewer=wanted > 1)
        own = fit if wanted > 1 else 1  # as many as the memory limit holds
        runs = [jobs.expected_runs(cfg, job) for cfg, job in zip(configs, grid, strict=True)]
        expected = [run for job_runs in runs for run in job_runs]
        # packed only with Hydra's default job folders (each member writes into its own job's)
        default = OmegaConf.to_container(self.config.hydra.sweep)["subdir"] == "${hydra.job.num}"
        workers = own if own > 1 else jobs.workers(self.config)
        launched = packing.pack(grid, configs, workers,
                                hashes=[{chash for chash, _ in r} for r in runs]) \
            if self.pack and default else grid
        del configs  # each job is composed again by the launcher, where it runs
        n = len(launched)
        launcher = self.launcher if min(own, n) <= 1 else \
            self.workers_launcher(min(own, n), f"{len(expected)} runs in {n} jobs", own < wanted)
        sweep = Sweep(self.config, self.params, grid, len(grid), expected)
        size = self.max_batch_size if self.max_batch_size and self.max_batch_size > 0 else n
        returns = []
        with sweep.running():  # opens the parent run: from then on an interrupt ends it KILLED
            sweep_dir = Path(self.config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper
            sweep.hand_to_jobs()
            for start in range(0, n, size):
                batch = launched[start:start + size]
                results = launcher.launch(batch, initial_job_idx=start)
                for result in results:
                    _ = result.return_value  # a job that raised stops the sweep (as Hydra's)
                returns.append(results)
        return returns
