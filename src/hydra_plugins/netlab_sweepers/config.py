"""The configs of netlab's sweepers in Hydra's ConfigStore: `hydra/sweeper=netlab` (the grid, the
default of conf/config.yaml), `hydra/sweeper=optuna` and its samplers `hydra/sweeper/sampler=…`.
Hydra finds plugins only in the hydra_plugins package, hence this folder; the work is done in
netlab.hydra_glue."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

PROVIDER = "netlab"


@dataclass
class NetlabSweeperConf:
    """The grid: every combination of the swept values (`key=a,b`, `range()`, `glob()`)."""

    _target_: str = "hydra_plugins.netlab_sweepers.sweepers.NetlabSweeper"
    max_batch_size: int | None = None  # jobs handed to the launcher at once (null: all)
    params: dict[str, str] | None = None  # a study's sweep, as `key: values`
    # `seeds=auto[:N]` on the command line: the sweep is run again with more seeds, up to N, until
    # each leader is separated from its runner-up (netlab.hydra_glue.seeds_auto); null: off
    seeds_auto: int | None = None
    # configurations that differ only in what replicas of one stack may differ in (lr, l2, init,
    # the optimizer's numbers, seed, data_seed) are trained as one job (netlab.hydra_glue.packing)
    pack: bool = True
    # jobs run at once on joblib's workers when no launcher is chosen (hydra/launcher=… names
    # one): 0, every core; 1, one after another in this process (Hydra's basic launcher). Its
    # default comes from $NETLAB_WORKERS, else 0 (netlab.hydra_glue.grid.GridSweeper.at_once)
    workers: int = "${oc.env:NETLAB_WORKERS,0}"  # type: ignore[assignment]


@dataclass
class TPESamplerConf:
    """optuna.samplers.TPESampler (https://optuna.readthedocs.io/en/stable/reference/samplers/)."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
    multivariate: bool | None = None
    group: bool = False
    constant_liar: bool = True


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class CmaEsSamplerConf:
    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: int | None = None
    sigma0: float | None = None
    n_startup_trials: int = 1
    restart_strategy: str | None = None
    popsize: int | None = None
    use_separable_cma: bool = False
    with_margin: bool = False


@dataclass
class NSGAIISamplerConf:
    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: int | None = None
    population_size: int = 50
    mutation_prob: float | None = None
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5


@dataclass
class QMCSamplerConf:
    _target_: str = "optuna.samplers.QMCSampler"
    seed: int | None = None
    qmc_type: str = "sobol"
    scramble: bool = False


@dataclass
class GridSamplerConf:
    """The grid of the search space's choice() and range() values (filled in at run time)."""

    _target_: str = "optuna.samplers.GridSampler"
    _partial_: bool = True
    seed: int | None = None


SAMPLERS = {"tpe": TPESamplerConf, "random": RandomSamplerConf, "cmaes": CmaEsSamplerConf,
            "nsgaii": NSGAIISamplerConf, "qmc": QMCSamplerConf, "grid": GridSamplerConf}


@dataclass
class OptunaSweeperConf:
    """Optuna's ask-and-tell over the search space in `params` (see netlab.hydra_glue.
    optuna_search for its syntax)."""

    _target_: str = "hydra_plugins.netlab_sweepers.sweepers.OptunaSweeper"
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    sampler: Any = MISSING
    direction: Any = "minimize"  # maximize, minimize, or a list of them (several objectives)
    storage: str | None = None  # a database URL shared by several processes; null: in memory
    study_name: str | None = None
    n_trials: int = 20  # trials this process runs
    n_jobs: int = 1  # trials asked for and launched together (a batch)
    max_failure_rate: float = 0.0  # share of a batch's jobs that may raise before the sweep stops
    params: dict[str, str] | None = None  # the search space, as `key: distribution`
    custom_search_space: str | None = None  # a function(cfg, trial) called for each trial


store = ConfigStore.instance()
store.store(group="hydra/sweeper", name="netlab", node=NetlabSweeperConf, provider=PROVIDER)
store.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider=PROVIDER)
for name, node in SAMPLERS.items():
    store.store(group="hydra/sweeper/sampler", name=name, node=node, provider=PROVIDER)
