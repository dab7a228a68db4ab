"""The command line around Hydra's entry: Ctrl-C and SIGTERM as one interrupt, errors as one line,
exit statuses (0; 1 for an error; 130 for Ctrl-C and 143 for SIGTERM, as a shell reports them)."""

import os
import sys
import warnings

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from netlab.config import ConfigError, one_line

from . import seeds_auto
from .signals import after_the_end, ignore_interrupts, install
from .sweep import SweepFailed


def cli(main):
    """Run the Hydra entry main(): Hydra's and validation's errors end as one line (status 1);
    Ctrl-C and SIGTERM end the sweep's runs KILLED, print one line, exit 130 / 143; a sweep the
    launcher gives up on (a worker process died) ends FAILED, its one line, status 1."""
    install()
    full = os.environ.get("HYDRA_FULL_ERROR") == "1"  # the user asked for full tracebacks
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's errors reach us instead of printing them
    # Optuna 4 calls TPESampler's constant_liar (the Optuna study sets it) experimental and warns
    # at every sweep, two lines before the command's own; Optuna 5 made it stable
    warnings.filterwarnings("ignore", message="Argument ``constant_liar`` is an experimental")
    sys.argv[1:] = seeds_auto.translate(sys.argv[1:])  # Hydra types seeds as an integer
    try:
        result = main()
    except (ConfigError, HydraException, OmegaConfBaseException) as error:
        if full:
            raise
        after_the_end()
        raise SystemExit(f"config error: {one_line(error)}") from None
    except KeyboardInterrupt as error:
        ignore_interrupts()  # a second Ctrl-C must not cut the last line short
        what = getattr(error, "signal_name", "Ctrl-C")
        print(f"interrupted by {what}{getattr(error, 'sweep_line', '')}", file=sys.stderr,
              flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except SystemExit:  # a single run's failure, said in its line
        after_the_end()
        raise
    except SweepFailed as error:
        after_the_end()
        print(error, file=sys.stderr, flush=True)
        sys.exit(1)
    after_the_end()  # a signal now, as joblib's workers and the interpreter end: one line
    return result
