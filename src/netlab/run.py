"""`python -m src.run` trains one network with the config in conf/; `python -m src.run -m …` sweeps.

The Hydra entry, and nothing else: the job itself is src/netlab/job.py (which replicas, their runs), the
experiment src/netlab/experiment.py (seeds, data, network, training, measurement), and how it plugs into
Hydra's lifecycle src/netlab/hydra_glue.py.
"""

import gc

if __name__ == "__main__":  # the command: its imports run with the garbage collector paused
    gc.disable()  # (hydra_glue.cli resumes it: see src/netlab/collector.py)

import hydra  # noqa: E402

from netlab import hydra_glue  # noqa: E402


@hydra.main(version_base="1.3", config_path="../../conf", config_name="config")
def main(cfg):
    """Train the job's replicas, print one line; returns the mean validation accuracy (or NaN)."""
    hydra_glue.import_job_code()  # in the process that runs a job (the launcher checks first)
    from netlab import job

    return hydra_glue.run_job(cfg, job.run)


if __name__ == "__main__":
    hydra_glue.cli(main)
