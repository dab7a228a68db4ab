"""Replicas trained together against the same replicas trained one after another.

    python -m benchmarks.replicas [--workloads C1,W2] [--replicas 1,10,100] [--repeats N] [--quick]
                                  [--json PATH] [--write-docs [PATH]]

Two workloads of ../shared/benchmarks.md, each replica with its own data and seed, as `seeds=N`
trains them (replica k: the data of seed k, split as netlab.data.load splits it, and initial weights
and shuffling from seed k):

- C1, the course network: flower (400 points; 240 train, 80 validation), 2 → 4 tanh → 1 sigmoid,
  0.01·N(0, 1) initial weights, lr 1.2, full-batch gradient descent, 5000 epochs.
- W2: moons (10000 points, noise 0.2; 6000 train, 2000 validation), 2 → 256 relu → 1 sigmoid,
  Xavier initial weights, lr 0.1, full-batch gradient descent, 200 epochs.

Both with the per-epoch bookkeeping a run does: training and validation loss and accuracy every
epoch, and a callback. For N replicas, "stacked" is one netlab.nn.train call on a Network of N
replicas, "one after another" is N calls on networks of one, in the same process; the figure is
seconds per replica for the workload's full epoch count, the median of the repeats after one
warm-up round (each repeat runs `epochs per repeat` epochs and is scaled to the full count: an
epoch costs the same throughout, there is no early stopping). BLAS runs on one thread (as jobs do),
and the BLAS libraries and threads are printed. The ratio is one-after-another / stacked: how many
times faster per replica stacking is. Targets (issue 11): ≥ 3× at N = 10 and ≥ 4× at N = 100 on
C1; never slower than one after another (ratio ≥ 1, within the repeats' spread) on W2. Both
wall-clock and CPU time (of this process: steadier when other processes share the cores) are shown.
"""

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np
import threadpoolctl

from benchmarks import docs
from netlab.data import load
from netlab.nn import Network, TrainingConfig, train

TARGETS = {("C1", 10): 3.0, ("C1", 100): 4.0, ("W2", 10): 1.0, ("W2", 100): 1.0}


@dataclass(frozen=True)
class Workload:
    id: str
    dataset: str
    params: dict  # netlab.data.load's parameters
    hidden: tuple
    activation: str
    init: str
    learning_rate: float
    epochs: int  # benchmarks.md's count
    repeat_epochs: int  # epochs per timed repeat


WORKLOADS = {
    "C1": Workload("C1", "flower", {"n_samples": 400, "noise": 0.2}, (4,), "tanh", "normal", 1.2,
                   epochs=5000, repeat_epochs=1000),
    "W2": Workload("W2", "moons", {"n_samples": 10000, "noise": 0.2}, (256,), "relu", "xavier", 0.1,
                   epochs=200, repeat_epochs=10),
}


def replica_data(workload, k):
    """Replica k's (X_train (n0, m), y_train, X_val (n0, m_val), y_val): the data of seed k."""
    data = load(workload.dataset, seed=k, test_size=0.2, val_size=0.2, **workload.params)
    return data.X_train.T.copy(), data.y_train, data.X_val.T.copy(), data.y_val


class Keep:
    """A callback that keeps the last record (what a logger does, minus the writing)."""

    def __init__(self):
        self.last = None

    def __call__(self, epoch, record, net, active):
        self.last = record


def stacked(workload, data, epochs):
    """Seconds to build, initialise and train the N replicas as one stack."""
    X = np.stack([d[0] for d in data])
    y = np.stack([d[1] for d in data])
    X_val = np.stack([d[2] for d in data])
    y_val = np.stack([d[3] for d in data])
    config = TrainingConfig(learning_rate=workload.learning_rate, epochs=epochs, optimizer="gd")
    sizes = (X.shape[1], *workload.hidden, 1)
    seeds = range(len(data))
    start = time.perf_counter(), time.process_time()
    net = Network(sizes, workload.activation, replicas=len(data))
    net.initialize(workload.init, [np.random.default_rng(k) for k in seeds])
    train(net, X, y, config, [np.random.default_rng(k) for k in seeds], (X_val, y_val), Keep())
    return time.perf_counter() - start[0], time.process_time() - start[1]


def one_after_another(workload, data, epochs):
    """Seconds to build, initialise and train the N replicas one at a time."""
    config = TrainingConfig(learning_rate=workload.learning_rate, epochs=epochs, optimizer="gd")
    start = time.perf_counter(), time.process_time()
    for k, (X, y, X_val, y_val) in enumerate(data):
        net = Network((X.shape[0], *workload.hidden, 1), workload.activation)
        net.initialize(workload.init, np.random.default_rng(k))
        train(net, X, y, config, np.random.default_rng(k), (X_val, y_val), Keep())
    return time.perf_counter() - start[0], time.process_time() - start[1]


def measure(workload, n, repeats, epochs):
    """Median seconds per replica (scaled to the full epoch count) both ways, wall-clock and CPU
    time of this process, and the samples."""
    data = [replica_data(workload, k) for k in range(n)]
    ways = {"stacked": stacked, "one_after_another": one_after_another}
    for way in ways.values():  # warm-up: code paths, buffers, allocator
        way(workload, data, max(1, epochs // 10))
    samples = {clock: {name: [] for name in ways} for clock in ("wall", "cpu")}
    scale = workload.epochs / epochs / n
    for r in range(repeats):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):  # alternate the order
            wall, cpu = ways[name](workload, data, epochs)
            samples["wall"][name].append(wall * scale)
            samples["cpu"][name].append(cpu * scale)
    median = {clock: {name: statistics.median(v) for name, v in by.items()}
              for clock, by in samples.items()}
    return {
        "replicas": n,
        "epochs_per_repeat": epochs,
        "seconds_per_replica": median["wall"],
        "cpu_seconds_per_replica": median["cpu"],
        "all_seconds_per_replica": samples,
        "ratio": median["wall"]["one_after_another"] / median["wall"]["stacked"],
        "cpu_ratio": median["cpu"]["one_after_another"] / median["cpu"]["stacked"],
        "target": TARGETS.get((workload.id, n)),
    }


def environment():
    """Versions, load and the BLAS libraries and threads in use (threadpoolctl)."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "threadpools": [
            {k: info.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                       "architecture")}
            for info in threadpoolctl.threadpool_info()
        ],
    }


def print_report(report):
    env = report["environment"]
    print(f"Replicas stacked vs one after another: Python {env['python']}, numpy {env['numpy']}, "
          f"{env['cpu_count']} CPUs ({env['platform']})")
    for pool in env["threadpools"]:
        print(f"  threadpool: {pool['internal_api']} {pool['version']} ({pool['user_api']}), "
              f"{pool['num_threads']} threads, architecture {pool['architecture']}")
    print(f"  load average at start {env['load_average_at_start']}, "
          f"at end {env['load_average_at_end']}")
    if report["quick"]:
        print("  --quick: tiny epoch counts, a smoke test only; these figures mean nothing")
    print("\nSeconds per replica (full epoch count; median of the repeats), wall-clock and CPU "
          "time;\nratio = one after another / stacked (how many times faster stacking is)")
    print(f"{'id':4} {'N':>4} {'epochs':>10} {'stacked':>9} {'one by one':>10} {'ratio':>7} "
          f"{'CPU stacked':>11} {'CPU 1 by 1':>10} {'CPU ratio':>9} {'target':>7}  result")
    for wid, rows in report["workloads"].items():
        for row in rows:
            s, c = row["seconds_per_replica"], row["cpu_seconds_per_replica"]
            target = row["target"]
            result = "" if target is None else "/".join(
                "PASS" if ratio >= target else "MISS" for ratio in (row["ratio"], row["cpu_ratio"]))
            epochs = f"{row['epochs_per_repeat']}/{WORKLOADS[wid].epochs}"
            print(f"{wid:4} {row['replicas']:>4} {epochs:>10} {s['stacked']:>9.4f} "
                  f"{s['one_after_another']:>10.4f} {row['ratio']:>6.2f}× "
                  f"{c['stacked']:>11.4f} {c['one_after_another']:>10.4f} "
                  f"{row['cpu_ratio']:>8.2f}× "
                  f"{'' if target is None else f'≥ {target:g}×':>7}  {result}")
    print("result: wall-clock/CPU; the CPU time is this process's, steadier when other processes "
          "load the machine")


def markdown(report):
    """The table in Markdown, for docs/benchmarks.md."""
    lines = ["Seconds per replica (scaled to the full epoch count; median of the repeats), "
             "wall-clock and this process's CPU time; ratio = one after another / stacked.", "",
             "| id | N | epochs | stacked s | one by one s | ratio (wall) | ratio (CPU) | target |",
             "|---|---|---|---|---|---|---|---|"]
    for wid, rows in report["workloads"].items():
        for row in rows:
            s, target = row["seconds_per_replica"], row["target"]
            goal = "" if target is None else f"≥ {target:g}×: " + "/".join(
                "met" if r >= target else "missed" for r in (row["ratio"], row["cpu_ratio"]))
            lines.append(f"| {wid} | {row['replicas']} | {row['epochs_per_repeat']}/"
                         f"{WORKLOADS[wid].epochs} | {s['stacked']:.3f} | "
                         f"{s['one_after_another']:.3f} | {row['ratio']:.2f}× | "
                         f"{row['cpu_ratio']:.2f}× | {goal} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replicas",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="C1,W2", help="comma-separated ids (default: all)")
    parser.add_argument("--replicas", default="1,10,100",
                        help="comma-separated N (default 1,10,100)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="a smoke test: N = 1, 3, tiny epochs")
    docs.add_argument(parser)
    args = parser.parse_args(argv)
    wanted = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if not wanted or any(w not in WORKLOADS for w in wanted):
        parser.error(f"unknown workload(s) in {wanted}; choose from {', '.join(WORKLOADS)}")
    counts = [1, 3] if args.quick else [int(n) for n in args.replicas.split(",")]
    repeats = args.repeats or (1 if args.quick else 3)
    report = {"command": docs.command("benchmarks.replicas", argv),
              "quick": args.quick, "workloads": {}}
    with threadpoolctl.threadpool_limits(1):  # as jobs run
        report["environment"] = environment()
        for wid in wanted:
            workload = WORKLOADS[wid]
            epochs = 3 if args.quick else workload.repeat_epochs
            report["workloads"][wid] = [measure(workload, n, repeats, epochs) for n in counts]
    report["environment"]["load_average_at_end"] = list(os.getloadavg())
    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nfigures written to {args.json}")
    if args.write_docs:
        note = " `--quick`: tiny epoch counts, a smoke test." if args.quick else ""
        settings = (f"workloads {', '.join(wanted)}, N = {', '.join(map(str, counts))}, "
                    f"{repeats} timed repeats after a warm-up, one BLAS thread (as jobs run)."
                    + note)
        docs.write_section("replicas", docs.section(
            "Replicas trained stacked against one after another", report["command"], settings,
            markdown(report)), args.write_docs)
    return report


if __name__ == "__main__":
    main()
