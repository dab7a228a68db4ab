"""Where a report goes, and the files it may replace there.

A committed study (one with experiments/<study>.yaml) is reported in experiments/<study>/; any
other experiment in reports/<experiment>/ (git-ignored); --out DIR anywhere. The folder may hold
other people's files. A report writes only files that are new there or that its manifest
(report-manifest.json, beside them) lists as an earlier report's, unchanged since (their SHA-256
is in it): anything else of that name, a link included, stops it before it changes anything, with
one line naming the files. Files are drawn into a staging folder inside the folder, then moved into
place (a rename replaces a name, never writes through a link); the earlier report's files this one
did not write are removed on the same terms.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from netlab.paths import PROJECT_ROOT, slug

from .design import study_file

MANIFEST = "report-manifest.json"


class NotOurs(ValueError):
    """A file the report would replace is not one it wrote; the message is one line."""


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


def sha256(path):
    """The SHA-256 of a file's bytes, in hex."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _plain_name(name):
    return isinstance(name, str) and "/" not in name and name not in ("", ".", "..", MANIFEST)


class Output:
    """A report's folder, as a context manager: file() names where each file is drawn (the staging
    folder), close() moves them into place and records them; leaving the block removes the
    staging folder and, after an error, the folders it made. Nothing in the folder changes before
    close(), nor at all if close() raises NotOurs."""

    def __init__(self, folder):
        self.folder = Path(folder)
        check_folder(self.folder)
        self.ours = self._earlier()  # {name: its SHA-256, or None in a manifest without them}
        missing = [f for f in (self.folder, *self.folder.parents) if not f.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        self.made = missing  # made here, innermost first: removed again after an error
        self.staging = Path(tempfile.mkdtemp(prefix=".netlab-staging-", dir=self.folder))
        self.written = []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        shutil.rmtree(self.staging, ignore_errors=True)
        if kind is not None:
            for folder in self.made:
                try:
                    folder.rmdir()  # only if empty: it holds nothing of anyone's then
                except OSError:
                    break
        return False

    def _earlier(self):
        """The files an earlier report's manifest lists (NotOurs if the manifest is not one)."""
        path = self.folder / MANIFEST
        if not os.path.lexists(path):
            return {}
        if path.is_symlink() or not path.is_file():
            raise NotOurs(f"will not read or replace {path} (a link, or not a file): move it "
                          "away, or choose another --out")
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            manifest = None
        files = manifest.get("files") if isinstance(manifest, dict) else None
        digests = manifest.get("sha256", {}) if isinstance(manifest, dict) else None
        if not isinstance(files, list) or not isinstance(digests, dict):
            raise NotOurs(f"{path} is not a report's manifest: move it away, or choose another "
                          "--out")
        return {name: digests.get(name) for name in files if _plain_name(name)}

    def _why_not_ours(self, name):
        """Why the file `name` in the folder may not be replaced, or None (new, or ours)."""
        path = self.folder / name
        if path.is_symlink():
            return "a link"
        if not path.exists():
            return None
        if not path.is_file():
            return "not a file"
        if name not in self.ours:
            return "not written by a report here"
        if self.ours[name] is not None and sha256(path) != self.ours[name]:
            return "changed since a report wrote it"
        return None

    def file(self, name):
        """The path to write `name` at (a plain file name), recorded as this report's."""
        if not _plain_name(name):
            raise ValueError(f"not a report file name: {name!r}")
        if name not in self.written:
            self.written.append(name)
        return self.staging / name

    def close(self, command, facts=None):
        """Move the files written into the folder, remove the earlier report's files this one did
        not write, and record the new list in the manifest; NotOurs (nothing changed) if a file
        of a name written is not new and not ours."""
        refused = [(name, why) for name in self.written if (why := self._why_not_ours(name))]
        if refused:
            listed = ", ".join(f"{self.folder / name} ({why})" for name, why in refused)
            raise NotOurs(f"will not replace {listed}: move {'it' if len(refused) == 1 else 'them'}"
                          " away, or choose another --out")
        digests = {name: sha256(self.staging / name) for name in self.written}
        for name in self.written:
            os.replace(self.staging / name, self.folder / name)
        for name in self.ours:
            if name not in self.written and self._why_not_ours(name) is None:
                (self.folder / name).unlink(missing_ok=True)
        manifest = {"written_by": command, **(facts or {}), "files": self.written,
                    "sha256": digests}
        (self.staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        os.replace(self.staging / MANIFEST, self.folder / MANIFEST)
