"""netlab's Hydra callback (wired in conf/config.yaml as hydra.callbacks.netlab): a single run is
validated, its memory checked and its store opened before Hydra starts it; a multirun is left to
netlab's sweepers, which do the same for every job before the first one starts."""

import functools
import os
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from netlab import resources
from netlab.config import ConfigError, reject, validate

from .sweep import prepare_store, tracking_or_exit

SWEEPERS = ("hydra_plugins.netlab_sweepers.", )  # the sweepers that open and close a sweep


def _exit_on_error(method):
    """Hydra turns an exception raised in a callback into a warning and goes on: stop instead."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:  # noqa: BLE001 - a bug here must not start the run
            if os.environ.get("NETLAB_DEBUG"):
                raise
            from netlab.tracking.store import first_line

            raise SystemExit(f"netlab: {method.__name__} failed: {type(error).__name__}: "
                             f"{first_line(error)} (NETLAB_DEBUG=1 shows the traceback)") from None

    return wrapper


class Lifecycle(Callback):
    """Validation, memory and the tracking store of a single run; a multirun's sweeper is
    netlab's (module docstring)."""

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
        tracking_or_exit(lambda: prepare_store(config))

    @_exit_on_error
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A multirun: refuse a sweeper that would run jobs without their sweep's parent run."""
        target = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
        if not target.startswith(SWEEPERS):
            reject(ConfigError("hydra/sweeper", target.rsplit(".", 1)[-1],
                               "must be netlab's (hydra/sweeper=netlab, the default, or "
                               "hydra/sweeper=optuna): it checks every job and keeps the sweep's "
                               "parent run"))
