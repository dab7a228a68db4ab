"""A job as Hydra runs it: its JobContext (where it logs, what it is within its sweep) read from
Hydra's config of the job and the sweep's context in its environment, and SIGTERM in a process of
its own (a scheduler preempting it) ending its runs KILLED while the sweep goes on."""

import math
import os
import signal
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from netlab.interrupts import Interrupted, wake_main_thread
from netlab.tracking.store import resolve_uri

from .packing import members
from .signals import interrupt, is_main_thread
from .sweep import CONTEXT_ENV, SweepContext, experiment_name


def job_context(cfg, hydra_cfg=None):
    """The JobContext of the running Hydra job (HydraConfig, or the job's hydra_cfg, and the
    sweep's context its environment holds)."""
    from netlab.job import JobContext  # the job's code, imported where a job runs

    hydra_cfg = hydra_cfg if hydra_cfg is not None else HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    sweep = SweepContext.decode(os.environ.get(CONTEXT_ENV)) if multirun else None
    tags = {}
    if sweep is not None:  # its runs go where the sweep's parent run is
        tags["command"] = sweep.command
        trial = sweep.trials.get(str(hydra_cfg.job.num))
        if trial is not None:
            tags.update({"optuna.trial": str(trial),
                         "optuna.study": OmegaConf.select(hydra_cfg, "sweeper.study_name",
                                                          default="") or ""})
    return JobContext(
        tracking_uri=sweep.uri if sweep else resolve_uri(cfg.mlflow.tracking_uri),
        experiment=experiment_name(cfg.mlflow, hydra_cfg.runtime.choices),
        overrides=list(hydra_cfg.overrides.task), swept=tuple(sweep.swept) if sweep else (),
        multirun=multirun, job_num=hydra_cfg.job.num if multirun else None,
        parent_run_id=sweep.parent if sweep else None, sweep_size=sweep.size if sweep else None,
        sweep_start=sweep.start if sweep else None, tags=tags,
        output_dir=Path(hydra_cfg.runtime.output_dir), force=bool(cfg.get("force", False)))


def run_job(cfg, run):
    """Run one job (`run(cfg, context)`, netlab.job.run). In a process of its own (a SLURM job, a
    Ray or joblib worker), SIGTERM ends the job's runs KILLED: the scheduler preempted or cancelled
    it; the job prints its line and returns NaN, so the sweep goes on and reports it, and a rerun
    trains it. In the sweep's own process the interrupt goes on and ends the sweep."""
    sweep = SweepContext.decode(os.environ.get(CONTEXT_ENV))
    if sweep is not None and not sweep.is_launching_process() and sweep.launcher_gone():
        orphaned(cfg, sweep)
    own = is_main_thread() and signal.getsignal(signal.SIGTERM) is not interrupt
    if own:  # submitit's handler only logs SIGTERM; a Ray worker gets its own back after the job
        previous = signal.signal(signal.SIGTERM, interrupt)
        wake_main_thread()  # a SIGTERM a BLAS thread took still interrupts a blocked request
    context = job_context(cfg)
    packed = members(cfg, context)  # the configurations a packed job trains together
    try:
        return run(cfg, context, packed) if packed else run(cfg, context)
    except Interrupted as error:
        if not context.multirun or sweep is None or sweep.is_launching_process():
            raise
        for _, each in packed or [(cfg, context)]:
            print(f"{each.head()}: KILLED by {error.signal_name} (its runs end KILLED; rerunning "
                  "the sweep trains them)", flush=True)
        return math.nan
    finally:
        if own and previous is not None:  # None: a handler not set from Python, left as is
            signal.signal(signal.SIGTERM, previous)


def orphaned(cfg, sweep):
    """A job whose sweep's process is gone (killed) does not start: nobody would record the sweep,
    and the same command, run again, trains what is missing. Its worker process (a joblib
    worker, whose pool died with the sweep) ends here, so that it takes no further job."""
    import sys

    print(f"{job_context(cfg).head()}: not started: the sweep's process {sweep.pid} has ended",
          flush=True)
    sys.stderr.flush()
    os._exit(1)
