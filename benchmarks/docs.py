"""docs/benchmarks.md, written by the benchmark commands: each command owns one section of it.

A command run with `--write-docs` replaces the text between its own two markers,

    <!-- begin: NAME (written by COMMAND; edits here are overwritten) -->
    …
    <!-- end: NAME -->

and leaves everything else in the file as it was: the other commands' sections and the text
written by hand around them. A section the file does not have yet is added at its end. Every
section states when and on what machine it was measured, and the command that made it, so a
figure can always be remade and compared with its like.
"""

import importlib.metadata
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import threadpoolctl

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured figures of netlab, each section written by the benchmark command named in it
(`--write-docs`), with the date, the machine and the settings it ran with. The README says how to
use netlab; this file says how fast it was, where and when. Figures of a shared machine vary from
hour to hour: compare a figure with one made by the same command on the same machine.
"""
LIBRARIES = ("numpy", "scipy", "scikit-learn", "mlflow", "hydra-core", "optuna", "torch")


def command(prog, argv=None):
    """The command line that ran, as a user types it: `python -m benchmarks.x --flag …`."""
    return " ".join([f"python -m {prog}", *(sys.argv[1:] if argv is None else argv)])


def cpu_model():
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """One line: CPU, cores, OS, Python, the key libraries' versions and the BLAS in use."""
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    blas = sorted({f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
                   for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"})
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {', '.join(versions)}; "
            f"BLAS: {', '.join(blas) or 'not loaded'}; load average {load} at the end")


def section(title, cmd, settings, body):
    """A section's Markdown: its heading, when and where, the command, the settings, the body."""
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    return (f"## {title}\n\n"
            f"Written by `{cmd}` on {when}.\n\n"
            f"Machine: {machine()}.\n\n"
            f"Settings: {settings}\n\n"
            f"{body.strip()}\n")


def markers(name):
    """The (begin, end) marker lines of the section `name`."""
    return (f"<!-- begin: {name} (written by its command; edits here are overwritten) -->",
            f"<!-- end: {name} -->")


def replace_section(text, name, content):
    """text with section `name`'s content between its markers replaced (appended if absent)."""
    begin, end = markers(name)
    block = f"{begin}\n{content.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_section(name, content, path=DOCS):
    """Replace section `name` of the file at path (created with its header if missing), atomically:
    a reader sees the old file or the new one, never half of it."""
    path = Path(path)
    text = path.read_text() if path.exists() else HEADER
    new = replace_section(text, name, content)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(new)
    os.replace(f.name, path)
    print(f"section '{name}' of {path} written", file=sys.stderr)


def add_argument(parser):
    """The --write-docs option every benchmark command takes."""
    parser.add_argument("--write-docs", nargs="?", const=DOCS, type=Path, metavar="PATH",
                        help=f"also write this command's section of {DOCS.relative_to(ROOT)} "
                        "(or of PATH), leaving the other sections as they are")
