"""netlab's grid sweeper (`hydra/sweeper=netlab`, the default): the cartesian product of the
command line's and the study's values, as Hydra's basic sweeper makes it, with every job checked
before the first starts and the sweep's parent run around the jobs. Configurations that a stack of
replicas can hold together (the same network, different learning rates, seeds, …) are launched as
one job (packing.py). Jobs run under whichever launcher the config names (Hydra's basic one by
default, joblib, SLURM, Ray)."""

from pathlib import Path

from hydra.core.plugins import Plugins
from omegaconf import OmegaConf

from . import jobs, packing
from .sweep import Sweep


class GridSweeper:
    """The implementation behind hydra_plugins.netlab_sweepers.NetlabSweeper."""

    def __init__(self, max_batch_size=None, params=None, seeds_auto=None, pack=True):
        self.max_batch_size, self.params = max_batch_size, dict(params or {})
        self.pack = pack  # configurations a stack can hold trained as one job (packing.pack)
        self.seeds_auto = seeds_auto  # the most seeds `seeds=auto` may reach; None: off
        self.config = self.hydra_context = self.launcher = None

    def setup(self, *, hydra_context, task_function, config):
        """Keep Hydra's context and config; instantiate the configured launcher."""
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

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
        configs = jobs.check(loader, self.config, grid)
        runs = [jobs.expected_runs(cfg, job) for cfg, job in zip(configs, grid, strict=True)]
        expected = [run for job_runs in runs for run in job_runs]
        # packed only with Hydra's default job folders (each member writes into its own job's)
        default = OmegaConf.to_container(self.config.hydra.sweep)["subdir"] == "${hydra.job.num}"
        launched = packing.pack(grid, configs, jobs.workers(self.config),
                                hashes=[{chash for chash, _ in r} for r in runs]) \
            if self.pack and default else grid
        del configs  # each job is composed again by the launcher, where it runs
        sweep = Sweep(self.config, self.params, grid, len(grid), expected)
        n = len(launched)
        size = self.max_batch_size if self.max_batch_size and self.max_batch_size > 0 else n
        returns = []
        with sweep.running():  # opens the parent run: from then on an interrupt ends it KILLED
            sweep_dir = Path(self.config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper
            sweep.hand_to_jobs()
            for start in range(0, n, size):
                batch = launched[start:start + size]
                results = self.launcher.launch(batch, initial_job_idx=start)
                for result in results:
                    _ = result.return_value  # a job that raised stops the sweep (as Hydra's)
                returns.append(results)
        return returns
