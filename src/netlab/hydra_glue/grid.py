"""netlab's grid sweeper (`hydra/sweeper=netlab`, the default): the cartesian product of the
command line's and the study's values, as Hydra's basic sweeper makes it, with every job checked
before the first starts and the sweep's parent run around the jobs. Jobs run under whichever
launcher the config names (Hydra's basic one by default, joblib, SLURM, Ray)."""

from pathlib import Path

from hydra.core.plugins import Plugins
from omegaconf import OmegaConf

from . import jobs
from .sweep import Sweep


class GridSweeper:
    """The implementation behind hydra_plugins.netlab_sweepers.NetlabSweeper."""

    def __init__(self, max_batch_size=None, params=None):
        self.max_batch_size, self.params = max_batch_size, dict(params or {})
        self.config = self.hydra_context = self.launcher = None

    def setup(self, *, hydra_context, task_function, config):
        """Keep Hydra's context and config; instantiate the configured launcher."""
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        """Check every job, open the sweep, launch the jobs in batches, close the sweep; returns
        the launcher's results, one list per batch."""
        loader = self.hydra_context.config_loader
        overrides = jobs.parse([*jobs.params_lines(self.params), *arguments], loader)
        grid = jobs.grid(overrides)
        configs = jobs.check(loader, self.config, grid)
        expected = [run for cfg, job in zip(configs, grid, strict=True)
                    for run in jobs.expected_runs(cfg, job)]
        del configs  # each job is composed again by the launcher, where it runs
        sweep = Sweep(self.config, self.params, grid, len(grid), expected)
        size = self.max_batch_size if self.max_batch_size and self.max_batch_size > 0 else len(grid)
        returns = []
        with sweep.running():  # opens the parent run: from then on an interrupt ends it KILLED
            sweep_dir = Path(self.config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper
            sweep.hand_to_jobs()
            for start in range(0, len(grid), size):
                batch = grid[start:start + size]
                results = self.launcher.launch(batch, initial_job_idx=start)
                for result in results:
                    _ = result.return_value  # a job that raised stops the sweep (as Hydra's)
                returns.append(results)
        return returns
