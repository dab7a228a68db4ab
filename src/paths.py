"""Where the project is, and how a name becomes a folder name."""

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def slug(name):
    """A folder name for an experiment name: runs of other characters become '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-") or "experiment"
