"""Hydra's own cost per job, for benchmarks/sweep.py: a no-op task over netlab's config tree.

    python -m benchmarks.hydra_floor -m <the sweep's overrides> ~hydra.callbacks.netlab \
        hydra/launcher=basic   (Hydra's own launcher, not netlab's default)
"""

import hydra

import netlab.config  # noqa: F401 - registers the schemas the config tree is typed with


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def noop(cfg):
    """Do nothing: what remains is Hydra composing, launching and logging the job."""
    return 0


if __name__ == "__main__":
    noop()
