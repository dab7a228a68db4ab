"""Smoke test of the speed benchmark: it runs, prints its tables, writes its JSON (no timing)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import docs

pytestmark = pytest.mark.slow  # the benchmarks' commands, run quickly

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_quick_run_writes_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.nn", "--quick", "--workloads", "W1", "--repeats", "1",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for heading in ("Seconds per epoch", "Achieved GFLOP/s", "Targets", "matmul peak float64"):
        assert heading in result.stdout

    report = json.loads(out.read_text())
    assert set(report) >= {"environment", "matmul_peak_gflops", "workloads", "targets"}
    assert report["environment"]["threadpools"]
    for dtype in ("float64", "float32"):
        assert report["matmul_peak_gflops"][dtype]["best"] > 0

    w1 = report["workloads"]["W1"]
    seconds = w1["seconds_per_epoch"]
    assert set(seconds) == {"ours_f64", "ours_f32", "sklearn", "torch_f32", "torch_f64"}
    torch_installed = report["environment"]["torch"] is not None
    for name, s in seconds.items():
        if name.startswith("torch") and not torch_installed:
            assert s is None
        else:
            assert s > 0
            assert w1["gflops"][name] > 0
    assert w1["ratios"]["ours/sklearn"] > 0
    assert w1["flop_per_epoch"] == 6 * (2 * 16 + 16 * 1) * 1000
    assert {t["result"] for t in report["targets"]} <= {"PASS", "MISS", "SKIP"}


def outside(text, name):
    """text with section `name` (its markers included) cut out."""
    begin, end = docs.markers(name)
    return re.sub(re.escape(begin) + ".*?" + re.escape(end), "", text, flags=re.DOTALL)


def test_replicas_benchmark_quick_run(tmp_path):
    """`python -m benchmarks.replicas --quick` runs, prints its table (no timing asserted) and
    rewrites its own section of a copy of docs/benchmarks.md, every other byte left as it was."""
    out = tmp_path / "replicas.json"
    page = tmp_path / "benchmarks.md"
    shutil.copy(docs.DOCS, page)
    before = page.read_text()
    begin, end = docs.markers("replicas")
    assert before.count(begin) == 1 and before.count(end) == 1
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.replicas", "--quick", "--json", str(out),
         "--write-docs", str(page)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    after = page.read_text()
    assert outside(after, "replicas") == outside(before, "replicas")
    assert after.count(begin) == 1 and after.count(end) == 1
    written = after[after.index(begin):after.index(end)]
    assert written != before[before.index(begin):before.index(end)]
    assert "## Replicas trained stacked against one after another" in written
    assert f"python -m benchmarks.replicas --quick --json {out} --write-docs {page}" in written
    assert "Machine: " in written and "Python " in written and "numpy " in written
    assert "| C1 | 3 | 3/5000 |" in written and "| W2 | 3 | 3/200 |" in written
    assert "Seconds per replica" in result.stdout and "threadpool" in result.stdout
    report = json.loads(out.read_text())
    assert set(report["workloads"]) == {"C1", "W2"}
    for rows in report["workloads"].values():
        assert [row["replicas"] for row in rows] == [1, 3]
        for row in rows:
            assert set(row["seconds_per_replica"]) == {"stacked", "one_after_another"}
            assert row["ratio"] > 0
    assert all(t["num_threads"] == 1 for t in report["environment"]["threadpools"]
               if t["user_api"] == "blas")


def test_docs_writer_adds_a_missing_section_and_replaces_only_its_own(tmp_path):
    """A section the file lacks is appended; writing it again replaces it, nothing else."""
    page = tmp_path / "benchmarks.md"
    docs.write_section("a", "## A\n\nfirst", page)  # a new file: the header, then the section
    assert page.read_text().startswith(docs.HEADER)
    with page.open("a") as f:
        f.write("\nwritten by hand\n")
    docs.write_section("b", "## B\n\nfirst", page)
    docs.write_section("a", "## A\n\nsecond", page)
    text = page.read_text()
    assert "first" in text.split(docs.markers("b")[0])[1]
    assert "second" in text and text.count("## A") == 1 and "written by hand" in text
    assert text.index(docs.markers("a")[1]) < text.index("written by hand") < text.index("## B")
