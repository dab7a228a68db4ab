"""netlab's sweepers, on Hydra's public Sweeper base; what they do is in netlab.hydra_glue (grid,
optuna_search), imported when Hydra instantiates one, not when it scans for plugins."""

from hydra.plugins.sweeper import Sweeper

from . import config as _registered  # noqa: F401 - registers the sweepers' configs


class NetlabSweeper(Sweeper):
    """The grid sweeper (`hydra/sweeper=netlab`): netlab.hydra_glue.grid.GridSweeper."""

    def __init__(self, max_batch_size=None, params=None, seeds_auto=None, pack=True, workers=0):
        from netlab.hydra_glue.grid import GridSweeper

        self.sweeper = GridSweeper(max_batch_size=max_batch_size, params=params,
                                   seeds_auto=seeds_auto, pack=pack, workers=workers)

    def setup(self, *, hydra_context, task_function, config):
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function,
                           config=config)

    def sweep(self, arguments):
        return self.sweeper.sweep(arguments)


class OptunaSweeper(Sweeper):
    """Optuna's ask-and-tell (`hydra/sweeper=optuna`): netlab.hydra_glue.optuna_search."""

    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs,
                 max_failure_rate=0.0, params=None, custom_search_space=None):
        from netlab.hydra_glue.optuna_search import OptunaSweeper as Implementation

        self.sweeper = Implementation(sampler, direction, storage, study_name, n_trials, n_jobs,
                                      max_failure_rate, params, custom_search_space)

    def setup(self, *, hydra_context, task_function, config):
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function,
                           config=config)

    def sweep(self, arguments):
        return self.sweeper.sweep(arguments)
