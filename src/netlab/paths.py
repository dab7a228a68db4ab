"""Where the project lives, and how a name becomes a folder name: one home for each."""

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def slug(name):
    """A folder name for an experiment or run name: runs of other characters become one '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-") or "experiment"
