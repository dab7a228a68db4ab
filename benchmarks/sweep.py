"""`python -m benchmarks.sweep`: what tracking costs a sweep.

Times the default study (`python -m src.run -m +experiment=activations`, 12 runs of about a second)
end to end, with the sequential and the joblib launcher, each into a SQLite store of its own in a
temporary folder, and reads back from the store how the wall time divides: training (the runs'
train_time_s), tracking (the runs' tracking_time_s, measured inside src/tracking around every
MLflow call, plot and model, plus the sweep callback's own: opening the store, the parent run, the
summary), and the rest (Python and library imports, Hydra, data). The store is created before the
timed sweep (as for every sweep after a project's first); creating one is timed apart.
Writes a Markdown table; --json also writes the figures.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

from src.tracking.store import open_store

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"sequential": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def sweep(folder, study, launcher, extra=()):
    """Run the study into a fresh store in folder; returns its figures."""
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    t0 = time.perf_counter()
    open_store(uri)
    create_s = time.perf_counter() - t0
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "src.run", "-m", f"+experiment={study}",
            f"hydra.sweep.dir={folder / 'multirun'}", *LAUNCHERS[launcher], *extra]
    t0 = time.perf_counter()
    subprocess.run(args, cwd=folder, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(study).experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    train = sum(r.data.metrics.get("train_time_s", 0.0) for r in children)
    per_run = sum(r.data.metrics.get("tracking_time_s", 0.0) for r in children)
    sweep_level = sum(r.data.metrics.get("tracking_time_s", 0.0) for r in parents)
    return {"launcher": launcher, "runs": len(children), "wall_s": wall, "train_s": train,
            "tracking_s": per_run + sweep_level, "tracking_per_run_s": per_run / len(children),
            "store_creation_s": create_s}


def table(results):
    """The figures as a Markdown table (time shares are of the wall time; with joblib the runs'
    train and tracking times add up over two processes, so they are CPU-seconds)."""
    head = ("| launcher | runs | wall s | runs/min | training s | tracking s | tracking share | "
            "tracking per run s | creating the store s |\n|---|---|---|---|---|---|---|---|---|")
    rows = [f"| {r['launcher']} | {r['runs']} | {r['wall_s']:.1f} "
            f"| {60 * r['runs'] / r['wall_s']:.1f} "
            f"| {r['train_s']:.1f} | {r['tracking_s']:.1f} | {r['tracking_s'] / r['wall_s']:.0%} "
            f"| {r['tracking_per_run_s']:.2f} | {r['store_creation_s']:.1f} |" for r in results]
    return "\n".join([head, *rows])


def main(argv=None):
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--study", default="activations")
    parser.add_argument("--launchers", default="sequential,joblib")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("overrides", nargs="*", help="extra overrides, e.g. epochs=500")
    args = parser.parse_args(argv)
    results = []
    for launcher in args.launchers.split(","):
        with tempfile.TemporaryDirectory(prefix="netlab-bench-") as folder:
            results.append(sweep(Path(folder), args.study, launcher, args.overrides))
    print(f"`python -m src.run -m +experiment={args.study} {' '.join(args.overrides)}`".strip())
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
