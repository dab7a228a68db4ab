"""`python -m src.compare`: runs named by id prefixes, side by side, from a real store."""

import json
import re
import subprocess
import sys

import pytest

from netlab.paths import PROJECT_ROOT
from netlab.report.output import MANIFEST
from tests.conftest import copy_store
from tests.logged_runs import log_numbers, new_sweep, train_and_log
from tests.test_report import assert_image_ok, section, table_rows

pytestmark = pytest.mark.slow  # trained runs and the real command line


@pytest.fixture(scope="module")
def store(tmp_path_factory, empty_store):
    """Three trained runs: tanh and relu at seed 0, tanh at seed 1."""
    tmp = tmp_path_factory.mktemp("compare")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    _, parent = new_sweep(uri, "pairs")
    common = ["dataset=moons", "dataset.n_samples=120", "epochs=80", "width=4"]
    ids = [train_and_log(uri, "pairs", parent, [*common, *extra])
           for extra in (["activation=tanh"], ["activation=relu"], ["activation=tanh", "seed=1"])]
    return uri, ids, tmp


def compare(uri, *args):
    """Run the command line; returns the finished process."""
    return subprocess.run([sys.executable, "-m", "src.compare", *args, "--tracking-uri", uri],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_runs_named_by_prefixes_are_compared_side_by_side(store):
    uri, ids, tmp = store
    out = tmp / "page"
    done = compare(uri, ids[0][:6], ids[1][:10], ids[2], "--out", str(out))
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert done.stdout == f"compare: {out / 'compare.md'} (3 runs)\n"
    text = (out / "compare.md").read_text()
    header, rows = table_rows(text, "Runs")
    assert [row[0].strip("`") for row in rows] == [i[:8] for i in ids]
    params = section(text, "Parameters")
    assert params.startswith("2 of ")
    differing = re.findall(r"^\| \*\*(\S+)\*\* \|", params, re.M)
    assert differing == ["activation", "seed"]
    assert "| **activation** | **tanh** | **relu** | **tanh** |" in params
    assert re.search(r"^\| width \| 4 \| 4 \| 4 \|$", params, re.M)
    for name in ("learning_curves.png", "decision_boundaries.png", "hidden_units.png"):
        assert f"]({name})" in text
        assert_image_ok(out / name)
    assert json.loads((out / MANIFEST).read_text())["files"][-1] == "compare.md"
    assert f"`python -m src.compare {ids[0][:6]} {ids[1][:10]} {ids[2]} --out {out}" in text


def test_an_unknown_or_ambiguous_prefix_is_one_line(store):
    uri, ids, _ = store
    done = compare(uri, "ffffffffffff", ids[0])
    assert done.returncode == 1
    assert done.stderr == f"compare: no run id starts with 'ffffffffffff' in {uri}\n"
    more = [log_numbers(uri, "crowd", None, {"seed": seed}, {"val_accuracy": 0.5})
            for seed in range(17)]  # 17 ids: two share their first hex digit
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in more) >= 2)
    done = compare(uri, shared, ids[0])
    assert done.returncode == 1 and done.stderr.startswith(f"compare: '{shared}' is ambiguous")
    done = compare(uri, "not-hex", ids[0])
    assert done.returncode == 1 and done.stderr.count("\n") == 1
