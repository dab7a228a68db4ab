"""`pytest benchmarks/scaling.py --write-docs [PATH]`: the option the scaling benchmark writes its
section of docs/benchmarks.md with (a pytest file takes its options from here)."""

from pathlib import Path

from benchmarks import docs


def pytest_addoption(parser):
    parser.addoption("--write-docs", nargs="?", const=str(docs.DOCS), default=None,
                     metavar="PATH", help="also write the scaling section of docs/benchmarks.md")


def pytest_configure(config):
    path = config.getoption("--write-docs", default=None)
    config.netlab_write_docs = Path(path) if path else None
