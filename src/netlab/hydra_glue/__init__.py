"""How netlab plugs into Hydra: nothing else in src/netlab imports Hydra's runtime (but for the
schemas' ConfigStore in netlab.config and the thin netlab.run).

The life of `python -m src.run -m …`:
1. command.cli() turns SIGTERM into an interrupt like Ctrl-C; Hydra composes the master config.
2. netlab's sweeper (hydra/sweeper=netlab, the grid, grid.py; or optuna, optuna_search.py; their
   Hydra plugin classes are in src/hydra_plugins/netlab_sweepers), before any job:
   a. every job is composed by Hydra's config loader and validated, its memory checked against
      the limit (jobs.py); a rejected one exits with one line, nothing created;
   b. the Sweep (sweep.py) opens the tracking store, marks runs a dead process left RUNNING as
      KILLED, opens the sweep's parent run (or resumes an interrupted sweep's), and hands every
      job its context in the Hydra overrides each job is composed with;
   c. the launcher named (none named: Hydra's joblib one, a worker per core) runs the jobs:
      src.run.main -> job.run_job() -> job_context() and netlab.job.run() (trains, records,
      prints one line; a finished configuration is skipped);
   d. the Sweep closes: the best run's model, the summary in the parent run, which ends FINISHED;
      Ctrl-C or SIGTERM: the runs in flight and the parent end KILLED, one line, exit 130 / 143;
      a launcher that gives up (a joblib worker killed): the parent FAILED, one line, status 1.
A single run (no -m) is validated, its memory checked and its store opened by the callback
(callback.py) before Hydra starts it, then runs the same job code.
"""

from . import help as _help  # noqa: E402 - the help template's resolver, wherever a config is made

_help.register()
