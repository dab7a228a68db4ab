"""Smoke test of the speed benchmark: it runs, prints its tables, writes its JSON (no timing)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_replicas_benchmark_quick_run(tmp_path):
    """`python -m benchmarks.replicas --quick` runs and prints its table (no timing asserted)."""
    out = tmp_path / "replicas.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.replicas", "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
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
