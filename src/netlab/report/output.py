"""Where a report goes, and the files it may replace there.

A committed study (one with experiments/<study>.yaml) is reported in experiments/<study>/; any
other experiment in reports/<experiment>/ (git-ignored); --out DIR anywhere. The folder may hold
other people's files: a manifest (report-manifest.json) lists what the report wrote, and the next
report of that folder replaces or removes only those files, never anything else.
"""

import json
from pathlib import Path

from netlab.paths import PROJECT_ROOT, slug

from .design import study_file

MANIFEST = "report-manifest.json"


def default_folder(experiment):
    """experiments/<study>/ for a committed study, else reports/<experiment>/."""
    if study_file(experiment) is not None:
        return PROJECT_ROOT / "experiments" / study_file(experiment).stem
    return PROJECT_ROOT / "reports" / slug(experiment)


def check_folder(folder):
    """Raise NotADirectoryError (one line) unless folder is a folder or can be made one."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{folder} cannot be made: {parent} is not a folder")


class Output:
    """A report's folder: names the files written (file()), then removes what an earlier report
    wrote and this one did not, and records the new list (close())."""

    def __init__(self, folder):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.written = []
        try:
            earlier = json.loads((folder / MANIFEST).read_text()).get("files", [])
        except (OSError, ValueError, AttributeError):
            earlier = []
        self.earlier = [name for name in earlier if isinstance(name, str) and "/" not in name
                        and name not in ("", ".", "..", MANIFEST)]

    def file(self, name):
        """The path to write `name` at (a plain file name), recorded as this report's."""
        if "/" in name or name in ("", ".", "..", MANIFEST):
            raise ValueError(f"not a report file name: {name!r}")
        if name not in self.written:
            self.written.append(name)
        return self.folder / name

    def close(self, command):
        """Remove the earlier report's files this one did not write; write the manifest."""
        for name in self.earlier:
            if name not in self.written:
                (self.folder / name).unlink(missing_ok=True)
        manifest = {"written_by": command, "files": self.written}
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
