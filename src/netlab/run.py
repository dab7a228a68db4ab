"""`python -m src.run` trains one network with the config in conf/; `python -m src.run -m …` sweeps.

The Hydra entry, and nothing else: the job itself is src/netlab/job.py (which replicas, their runs),
the experiment src/netlab/experiment.py (seeds, data, network, training, measurement), and how it
plugs into Hydra src/netlab/hydra_glue/.
"""

import hydra

from netlab.hydra_glue.command import cli
from netlab.hydra_glue.job import run_job


@hydra.main(version_base="1.3", config_path="../../conf", config_name="config")
def main(cfg):
    """Train the job's replicas, print one line; returns the mean validation accuracy (or NaN)."""
    from netlab import job

    return run_job(cfg, job.run)


if __name__ == "__main__":
    cli(main)
