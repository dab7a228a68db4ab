"""`python -m src.run --help`: Hydra's help, listing the config groups a user chooses from (the
folders of conf/) and not the typed schemas netlab.config stores for them (`schema/...`), which
Hydra's own `$APP_CONFIG_GROUPS` lists beside them. conf/config.yaml's `hydra.help.template` asks
for the list through the `netlab_groups` resolver registered here (OmegaConf's public API)."""

from pathlib import Path

from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[3] / "conf"


def config_groups(conf=CONF):
    """'group: option, option…' lines, one per folder of conf/ holding options, sorted."""
    lines = []
    for folder in sorted(p for p in conf.iterdir() if p.is_dir()):
        options = sorted(p.stem for p in folder.glob("*.yaml"))
        if options:
            lines.append(f"{folder.name}: {', '.join(options)}")
    return "\n".join(lines)


def register():
    """Make `${netlab_groups:}` available to the help template (idempotent)."""
    if not OmegaConf.has_resolver("netlab_groups"):
        OmegaConf.register_new_resolver("netlab_groups", lambda: config_groups())
