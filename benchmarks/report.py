"""`python -m benchmarks.report`: how long `python -m src.report` and `python -m src.export` take on
a 1,000-run study, and how long each of a run's plots takes to draw.

The study is logged straight into a SQLite store with MlflowClient (no network is trained): a sweep
parent and 1,000 child runs — 4 activations × depth 1–5 × 5 learning rates × 10 seeds on 2-D
data — each with the params, tags and final metrics a real run has, per-epoch curves (50 points of
the four losses and accuracies and, per layer, grad_norm, weight_norm and dead or saturated), a
weights.npz, a boundaries.npz and the metrics.npz a FINISHED run holds. The store is kept (default
/tmp/netlab-bench-report/) and reused unless --fresh. Then the report's command is timed end to
end, against the 15 s target; the export's, first with no export there (every run's curves read
from the store) and again (each run's curves taken from the first), against 10 s; the report
once the export exists, against 5 s; and each
of a run's plots (learning curves, decision boundary, confusion matrix, hidden units, the
per-epoch boundary images) is timed on a trained course network (flower, 400 points, 4 tanh units).
"""

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mlflow.entities import Metric, Param

from benchmarks import docs
from netlab import snapshots
from netlab.export.table import default_path
from netlab.identity import config_hash
from netlab.nn import Network, save_weights
from netlab.tracking.logger import METRICS_FILE, write_metrics_file
from netlab.tracking.store import open_store

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0
EXPORT_TARGET_S = 10.0  # the export of 1,000 runs
AFTER_EXPORT_TARGET_S = 5.0  # the report once the export exists
EXPERIMENT = "bench_report"
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
DEPTHS = (1, 2, 3, 4, 5)
RATES = (0.01, 0.03, 0.1, 0.3, 1.0)
SEEDS = range(10)
POINTS = 50  # per curve


def boundary_file(folder, rng, depth):
    """A boundaries.npz of 16 frames over moons-like points, sharper frame by frame."""
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) > 0).astype(int)
    snap = snapshots.BoundarySnapshots(X, range(1, 17), y=y)
    g0, g1 = np.meshgrid(snap.x0, snap.x1)
    epochs = snapshots.log_spaced_epochs(1000)
    frames = [1 / (1 + np.exp(-(0.3 + 0.4 * i) * (g0 + 0.5 * np.sin(2 * g1))))[None]
              for i in range(len(epochs))]
    snapshots.save(folder / snapshots.FILENAME, epochs, snap.x0, snap.x1, np.stack(frames), X, y)


def one_run(client, experiment_id, parent_id, activation, depth, lr, seed, folder):
    """Log one child run as a real one looks in the store."""
    rng = np.random.default_rng(hash((activation, depth, lr, seed)) % 2**32)
    params = {"activation": activation, "depth": depth, "width": 8, "lr": lr, "epochs": 1000,
              "batch_size": None, "seed": seed, "data_seed": None, "init": "xavier", "l2": 0.0,
              "optimizer.name": "gd", "dataset.name": "moons", "dataset.n_samples": 200,
              "dataset.noise": 0.2, "dataset.test_size": 0.2, "dataset.val_size": 0.2}
    skill = {"sigmoid": 0.1, "tanh": 0.2, "relu": 0.22, "leaky_relu": 0.21}[activation]
    skill *= 1 - abs(np.log10(lr) + 1) / 2.5 - (0.08 * depth if activation == "sigmoid" else 0)
    val = float(np.clip(0.7 + skill + 0.03 * rng.standard_normal(), 0, 1))
    tags = {"seed": str(seed), "config_hash": config_hash({**params, "seed": seed}),
            "git_commit": "0" * 40, "git_dirty": "false", "code_hash": "c0de", "mlflow.runName":
            f"{activation} · depth {depth} · lr {lr} · seed {seed}"}
    run = client.create_run(experiment_id, tags={**tags, "mlflow.parentRunId": parent_id})
    steps = np.unique(np.geomspace(1, 1000, POINTS).astype(int))
    metrics = []
    for name, start, end in (("train_loss", 0.7, 0.1), ("val_loss", 0.7, 0.15),
                             ("train_accuracy", 0.5, val + 0.02), ("val_accuracy", 0.5, val)):
        for i, step in enumerate(steps):
            metrics.append(Metric(name, start + (end - start) * i / (len(steps) - 1), 0, int(step)))
    for l in range(1, depth + 2):
        fade = 0.25 ** (depth + 1 - l) if activation == "sigmoid" else 0.8 ** (depth + 1 - l)
        for step in steps:
            metrics += [Metric(f"grad_norm_{l}", 0.05 * fade / np.sqrt(step), 0, int(step)),
                        Metric(f"weight_norm_{l}", 2 + np.log(step), 0, int(step))]
            if l <= depth:
                kind = "dead" if "relu" in activation else "saturated"
                metrics.append(Metric(f"{kind}_{l}", min(1, lr / 3), 0, int(step)))
    finals = {"test_accuracy": val - 0.01, "test_loss": 0.2, "test_f1": val - 0.01,
              "train_time_s": 0.4, "epochs_run": 1000, "tracking_time_s": 0.3}
    metrics += [Metric(k, v, 0, 1000) for k, v in finals.items()]
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
    for f in folder.iterdir():
        f.unlink()
    boundary_file(folder, rng, depth)
    points = {}
    for metric in metrics:
        points.setdefault(metric.key, []).append((metric.step, metric.timestamp, metric.value))
    write_metrics_file(folder / METRICS_FILE, points)
    network = Network((2, *(8,) * depth, 1), activation).initialize("xavier", rng)
    save_weights(network, folder / "weights.npz")
    client.log_artifacts(run.info.run_id, str(folder))
    client.set_terminated(run.info.run_id)


def make_store(path):
    """The 1,000-run study in a new store at path; returns seconds taken."""
    t0 = time.perf_counter()
    uri = f"sqlite:///{path}"
    client = open_store(uri)
    experiment_id = client.create_experiment(EXPERIMENT,
                                             artifact_location=(path.parent / "art").as_uri())
    parent = client.create_run(experiment_id, run_name="bench_report sweep",
                               tags={"netlab.role": "sweep"}).info.run_id
    with tempfile.TemporaryDirectory() as folder:
        for activation in ACTIVATIONS:
            for depth in DEPTHS:
                for lr in RATES:
                    for seed in SEEDS:
                        one_run(client, experiment_id, parent, activation, depth, lr, seed,
                                Path(folder))
    client.set_terminated(parent)
    return time.perf_counter() - t0


def time_report(path, out):
    """Seconds the report's command takes on the store (wall, end to end)."""
    args = [sys.executable, "-m", "src.report", EXPERIMENT, "--tracking-uri", f"sqlite:///{path}",
            "--out", str(out), "--no-log"]
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds, done


def time_export(path):
    """(seconds, its line) of `python -m src.export` on the store (wall, end to end)."""
    args = [sys.executable, "-m", "src.export", EXPERIMENT, "--tracking-uri", f"sqlite:///{path}",
            "--no-log"]
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds, done.stdout.strip()


def has_metrics_files(path):
    """Whether the store's runs hold metrics.npz (stores built before they did are rebuilt)."""
    return any((path.parent / "art").glob(f"*/artifacts/{METRICS_FILE}"))


def time_run_plots(repeats=7):
    """{plot: (median ms, PNG KB)} for a run's plots on the trained course network."""
    from hydra import compose, initialize_config_dir

    from netlab import config as _schemas  # noqa: F401 - registers the config schemas
    from netlab import experiment
    from netlab.figures import run_plots

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["dataset=flower", "dataset.n_samples=400", "width=4",
                                           "lr=1.2", "epochs=5000", "init=normal"])
    (replica,) = experiment.train(cfg, experiment.prepare(cfg, [cfg.seed]))
    data, network, grid = replica.data, replica.network, replica.boundaries
    X = np.vstack([data.X_train, data.X_val, data.X_test])
    y = np.concatenate([data.y_train, data.y_val, data.y_test])
    frames = grid.as_dict()
    plots = {  # what recording.record draws for a 2-D run (and the confusion matrix of others)
        "decision boundary": lambda: run_plots.decision_boundary(
            grid.x0, grid.x1, grid.at_end(network, replica.metrics["epochs_run"]), X, y, "flower"),
        "confusion matrix": lambda: run_plots.confusion_matrix(
            data.y_test, experiment.predict(replica, data.X_test), title="flower"),
        "hidden units": lambda: run_plots.hidden_units(network, data.X_train, data.y_train,
                                                       "flower · 4 units"),
        "boundary images, all 16 recorded frames (a run draws its 8)":
            lambda: run_plots.snapshot_images(frames, "flower"),
    }
    found = {}
    for name, draw in plots.items():
        times, size = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            made = draw()
            images = [image for _, image in made] if isinstance(made, list) else [made]
            size = 0
            for image in images:
                buffer = io.BytesIO()
                run_plots.save_png(image, buffer)
                size += len(buffer.getvalue())
            times.append(time.perf_counter() - t0)
        found[name] = (1000 * statistics.median(times), size / 1000)
    return found


def main(argv=None):
    """Build (or reuse) the store, time the report and a run's plots, print the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="/tmp/netlab-bench-report/mlflow.db")
    parser.add_argument("--fresh", action="store_true", help="rebuild the store")
    parser.add_argument("--repeats", type=int, default=3, help="report runs timed (best kept)")
    parser.add_argument("--skip-plots", action="store_true")
    docs.add_argument(parser)
    args = parser.parse_args(argv)
    path = Path(args.store)
    if args.fresh and path.parent.exists():
        shutil.rmtree(path.parent)
    if path.exists() and not has_metrics_files(path):
        print(f"{path} was built before runs held {METRICS_FILE}: building it again", flush=True)
        shutil.rmtree(path.parent)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the 1,000-run store in {path} …", flush=True)
        print(f"  {make_store(path):.0f} s (once; reused by the next run)", flush=True)
    export = default_path(EXPERIMENT)  # where the report looks for the study's export
    export.unlink(missing_ok=True)
    times, after = [], []
    try:
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.repeats):
                seconds, done = time_report(path, Path(out))
                times.append(seconds)
            print(f"\n{done.stdout.strip()}")
            first, first_line = time_export(path)
            again, again_line = time_export(path)
            print(f"{first_line}\n{again_line}")
            for _ in range(args.repeats):
                after.append(time_report(path, Path(out))[0])
    finally:
        export.unlink(missing_ok=True)

    def row(what, seconds, target):
        best = min(seconds)
        every = f" (best of {len(seconds)}: {', '.join(f'{t:.1f}' for t in seconds)})" \
            if len(seconds) > 1 else ""
        return (f"| {what}{every} | {best:.1f} | ≤ {target:.0f} | "
                f"{'met' if best <= target else 'missed'} |")

    lines = ["| measure | seconds | target | result |", "|---|---|---|---|",
             row("`python -m src.report` on 1,000 runs, no export", times, TARGET_S),
             row("`python -m src.export` of the 1,000 runs, the first (each run's curves read "
                 "from its metrics.npz)", [first], EXPORT_TARGET_S),
             row("`python -m src.export` again (each ended run's curves from the first)",
                 [again], EXPORT_TARGET_S),
             row("`python -m src.report` once the export exists", after, AFTER_EXPORT_TARGET_S)]
    if not args.skip_plots:
        lines += ["", "| a run's plot | ms (median) | PNG KB |", "|---|---|---|"]
        plots = time_run_plots()
        lines += [f"| {name} | {ms:.1f} | {kb:.1f} |" for name, (ms, kb) in plots.items()]
    print("\n" + "\n".join(lines))
    if args.write_docs:
        settings = (f"the report timed {args.repeats} times on the 1,000-run store without an "
                    f"export, the export twice, then the report {args.repeats} times again"
                    + ("; a run's plots not timed (`--skip-plots`)." if args.skip_plots
                       else "; each of a run's plots drawn 7 times."))
        docs.write_section("report", docs.section(
            "The report on a 1,000-run study, and a run's plots",
            docs.command("benchmarks.report", argv), settings, "\n".join(lines)),
            args.write_docs)


if __name__ == "__main__":
    main()
