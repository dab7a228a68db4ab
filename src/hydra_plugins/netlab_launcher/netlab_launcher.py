"""netlab's launcher, `hydra/launcher=netlab` (conf/config.yaml's default): Hydra's basic launcher
(jobs one after the other in this process) with what it does differently in src/netlab/hydra_glue.py
(`launch`). Hydra instantiates launchers only from the hydra_plugins package, hence this file."""

from dataclasses import dataclass

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.config_store import ConfigStore


@dataclass
class NetlabLauncherConf:
    _target_: str = "hydra_plugins.netlab_launcher.netlab_launcher.NetlabLauncher"


ConfigStore.instance().store(group="hydra/launcher", name="netlab", node=NetlabLauncherConf,
                             provider="netlab")


class NetlabLauncher(BasicLauncher):
    """Hydra's BasicLauncher, each job started by netlab.hydra_glue.launch."""

    def launch(self, job_overrides, initial_job_idx):
        from netlab.hydra_glue import launch

        return launch(self, job_overrides, initial_job_idx)
