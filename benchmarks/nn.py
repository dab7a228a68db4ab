"""Speed of the network against scikit-learn and PyTorch, on ../shared/benchmarks.md's workloads.

    python -m benchmarks.nn [--workloads W1,W3] [--repeats N] [--threads N] [--json PATH] [--quick]
                            [--dynamics W1,W2,W3,C1] [--write-docs [PATH]]

Every implementation trains the same network from the same initial weights on the same standardised
data (seed 0): full-batch gradient descent (mini-batches of 64, shuffled, for W3mb) at learning rate
0.1, no L2, no momentum. Implementations are alternated in one process (the order rotates every
repeat) after one warm-up round, and each figure is the median over the repeats of seconds per
epoch, so ratios between them hold on a noisy machine. A repeat runs a fixed number of epochs, fewer
than benchmarks.md's count for the slow workloads (the table shows both): the figure is per epoch.

Peers: our network (``netlab.nn.train``, float64, float32), scikit-learn's MLPClassifier configured
as benchmarks.md says, PyTorch on the CPU in float32 and float64 when it is installed (skipped
with a note otherwise), and NumPy's own square matmul as the physical reference for GEMM-bound work.
Achieved GFLOP/s = 6 × number of weights × samples per epoch / seconds per epoch.

The last table is the cost of recording the training dynamics (netlab.nn.dynamics: gradient and
weight norms, saturated or dead shares): our float64 network on W1, W2, W3 and the course network
C1 (with its validation bookkeeping), trained without probing, probing every epoch, and probing at
a resolution coarser than none but finer than the harness's (200 probe epochs a run, evenly
spaced: every epoch for runs of ≤ 200 epochs; the harness probes ~64 log-spaced epochs, so costs
less), alternating, the best of at least 9 repeats of CPU seconds per epoch (the process's:
steadier than wall-clock when other processes share the cores; interference only adds time).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import numpy as np
import sklearn
import threadpoolctl
from sklearn.datasets import load_digits, make_classification, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from benchmarks import docs
from netlab.nn import Network, TrainingConfig, layer_sizes, train

try:
    import torch
except ImportError:  # optional peer: a plain `pip install torch` pulls a multi-GB GPU build
    torch = None
else:
    torch.set_num_threads(os.cpu_count())

SEED = 0
LEARNING_RATE = 0.1
SETTLE_SECONDS = 0.2  # pause between implementations: idle BLAS/OpenMP threads stop spinning
PEAK_SIZES = (256, 512, 1024, 2048)
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
IMPLEMENTATIONS = ("ours_f64", "ours_f32", "sklearn", "torch_f32", "torch_f64")
HEADERS = {
    "ours_f64": "ours f64", "ours_f32": "ours f32", "sklearn": "sklearn",
    "torch_f32": "torch f32", "torch_f64": "torch f64",
}


# ------------------------------------------------------------------------------------- workloads
def moons(n):
    return make_moons(n_samples=n, noise=0.2, random_state=SEED)


def digits():
    return load_digits(return_X_y=True)


def classification():
    return make_classification(n_samples=50000, n_features=20, random_state=SEED)


@dataclass(frozen=True)
class Workload:
    id: str
    data: str  # how the data is made, as benchmarks.md says it
    make: object  # () -> (X (m, n), y (m,)), before standardising
    hidden: tuple  # hidden layer widths
    activation: str  # hidden activation, our name ("tanh", "relu")
    epochs: int  # benchmarks.md's count
    repeat_epochs: int  # epochs in one timed repeat (fewer for the slow workloads)
    batch_size: int | None = None  # None: full batch


WORKLOADS = [
    Workload("W1", "make_moons(n_samples=1000, noise=0.2)", partial(moons, 1000),
             (16,), "tanh", epochs=1000, repeat_epochs=1000),
    Workload("W2", "make_moons(n_samples=10000, noise=0.2)", partial(moons, 10000),
             (256,), "relu", epochs=200, repeat_epochs=40),
    Workload("W3", "load_digits()", digits, (512, 512), "relu", epochs=100, repeat_epochs=20),
    Workload("W3mb", "load_digits(), mini-batches of 64", digits, (512, 512), "relu",
             epochs=5, repeat_epochs=5, batch_size=64),
    Workload("W4", "make_classification(n_samples=50000, n_features=20)", classification,
             (1024,), "tanh", epochs=30, repeat_epochs=3),
]


@dataclass
class Problem:
    """A workload's data and the initial weights every implementation starts from."""

    X: np.ndarray  # (m, n[0]) float64, standardised
    labels: np.ndarray  # (m,) int in 0 … k-1
    sizes: tuple  # (n[0], …, n[L])
    W: list  # W[l] (n[l], n[l-1]), l = 1 … L
    b: list  # b[l] (n[l], 1)

    @property
    def n_weights(self):
        return sum(w.size for w in self.W)


def make_problem(workload):
    X, labels = workload.make()
    X = StandardScaler().fit_transform(X.astype(np.float64))
    labels = labels.astype(np.int64)
    sizes = layer_sizes(X.shape[1], workload.hidden, len(np.unique(labels)))
    net = Network(sizes, workload.activation).initialize("xavier", np.random.default_rng(SEED))
    W = [net.W[l][0].copy() for l in range(1, net.L + 1)]
    b = [net.b[l][0].copy() for l in range(1, net.L + 1)]
    return Problem(X, labels, sizes, W, b)


# ------------------------------------------------------------------------------------- peers
# Each returns run(epochs) -> seconds: it resets the initial weights (untimed), then times training.


def ours(workload, problem, dtype):
    """Our network through netlab.nn.train, the data as NetClassifier passes it: X.T, (n[0], m)."""
    net = Network(problem.sizes, workload.activation, dtype=dtype)
    X = problem.X.astype(dtype).T

    def run(epochs):
        net.set_parameters(problem.W, problem.b)
        config = TrainingConfig(
            learning_rate=LEARNING_RATE, epochs=epochs, batch_size=workload.batch_size,
            optimizer="sgd",
        )
        rng = np.random.default_rng(SEED)
        start = time.perf_counter()
        train(net, X, problem.labels, config, rng)
        return time.perf_counter() - start

    return run


def scikit_learn(workload, problem):
    """MLPClassifier as benchmarks.md configures it, warm-started from the shared weights."""
    m = problem.X.shape[0]
    clf = MLPClassifier(
        hidden_layer_sizes=workload.hidden,
        activation={"tanh": "tanh", "relu": "relu"}[workload.activation],
        solver="sgd", learning_rate="constant", learning_rate_init=LEARNING_RATE,
        momentum=0, nesterovs_momentum=False, alpha=0,
        batch_size=workload.batch_size or m, max_iter=1, tol=0, n_iter_no_change=10**9,
        shuffle=workload.batch_size is not None, early_stopping=False,
        random_state=SEED, warm_start=True,
    )
    with warnings.catch_warnings():  # one epoch to build its internals (classes, layers)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(problem.X, problem.labels)

    def run(epochs):
        clf.coefs_ = [w.T.copy() for w in problem.W]  # scikit-learn's layout, (fan_in, fan_out)
        clf.intercepts_ = [v.ravel().copy() for v in problem.b]
        clf.max_iter = epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            clf.fit(problem.X, problem.labels)
            return time.perf_counter() - start

    return run


def pytorch(workload, problem, dtype):
    """nn.Sequential of Linear + activation, torch.optim.SGD, BCEWithLogits / CrossEntropy loss."""
    nn = torch.nn
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    g = {"tanh": nn.Tanh, "relu": nn.ReLU}[workload.activation]
    layers = []
    for l, w in enumerate(problem.W):
        layers.append(nn.Linear(w.shape[1], w.shape[0], dtype=tdtype))
        if l < len(problem.W) - 1:
            layers.append(g())
    model = nn.Sequential(*layers)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    X = torch.from_numpy(problem.X.astype(dtype))
    if problem.sizes[-1] == 1:
        y = torch.from_numpy(problem.labels.astype(dtype)).reshape(-1, 1)
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        y = torch.from_numpy(problem.labels)
        loss_fn = nn.CrossEntropyLoss()
    m, batch = X.shape[0], workload.batch_size

    def run(epochs):
        with torch.no_grad():
            for linear, w, v in zip(linears, problem.W, problem.b, strict=True):
                linear.weight.copy_(torch.from_numpy(w))
                linear.bias.copy_(torch.from_numpy(v.ravel()))
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        generator = torch.Generator().manual_seed(SEED)
        start = time.perf_counter()
        for _ in range(epochs):
            if batch is None:
                batches = ((X, y),)
            else:
                order = torch.randperm(m, generator=generator)
                batches = ((X[idx], y[idx]) for idx in order.split(batch))
            for Xb, yb in batches:
                optimizer.zero_grad()
                loss = loss_fn(model(Xb), yb)
                loss.backward()
                optimizer.step()
        return time.perf_counter() - start

    return run


def implementations(workload, problem):
    """name -> run(epochs) for every implementation available here."""
    runs = {
        "ours_f64": ours(workload, problem, "float64"),
        "ours_f32": ours(workload, problem, "float32"),
        "sklearn": scikit_learn(workload, problem),
    }
    if torch is not None:
        runs["torch_f32"] = pytorch(workload, problem, "float32")
        runs["torch_f64"] = pytorch(workload, problem, "float64")
    return runs


# ------------------------------------------------------------------------------------- measuring
def matmul_peak(dtype, sizes=PEAK_SIZES):
    """NumPy's square matmul GFLOP/s per size (best of a few runs), and the best of them."""
    rng = np.random.default_rng(SEED)
    figures = {}
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        out = np.empty((n, n), dtype)
        np.matmul(a, b, out=out)  # warm-up
        times, spent = [], 0.0
        while len(times) < 3 or (spent < 0.3 and len(times) < 50):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - start)
            spent += times[-1]
        figures[str(n)] = 2 * n**3 / min(times) / 1e9
    return {"by_size": figures, "best": max(figures.values())}


def time_workload(workload, repeats, epochs, settle=SETTLE_SECONDS):
    """Seconds per epoch for every implementation: warm-up round, then alternating repeats.

    Between two timed runs the process sleeps ``settle`` seconds, so that the thread pool the last
    run used (OpenBLAS or PyTorch's OpenMP, which spin for a while after work) is idle again and
    does not steal the two cores from the next one.
    """
    problem = make_problem(workload)
    runs = implementations(workload, problem)
    names = list(runs)
    for name in names:  # warm-up: code paths, buffers, thread pools
        runs[name](max(1, epochs // 5))
    samples = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate the order
            time.sleep(settle)
            samples[name].append(runs[name](epochs) / epochs)
    seconds = {name: statistics.median(s) for name, s in samples.items()}
    flop = 6 * problem.n_weights * problem.X.shape[0]

    def ratio(a, b):
        return seconds[a] / seconds[b] if a in seconds and b in seconds else None

    return {
        "data": workload.data,
        "sizes": list(problem.sizes),
        "activation": workload.activation,
        "batch_size": workload.batch_size,
        "samples": problem.X.shape[0],
        "n_weights": problem.n_weights,
        "flop_per_epoch": flop,
        "epochs_benchmarks_md": workload.epochs,
        "epochs_per_repeat": epochs,
        "repeats": repeats,
        "seconds_per_epoch": {name: seconds.get(name) for name in IMPLEMENTATIONS},
        "all_seconds_per_epoch": samples,
        "gflops": {name: flop / s / 1e9 for name, s in seconds.items()},
        "ratios": {
            "ours/sklearn": ratio("ours_f64", "sklearn"),
            "ours_f64/torch_f64": ratio("ours_f64", "torch_f64"),
            "ours_f32/torch_f32": ratio("ours_f32", "torch_f32"),
        },
    }


# ------------------------------------------------------------------------------------- dynamics
DYNAMICS_WORKLOADS = ("W1", "W2", "W3", "C1")
DYNAMICS_REPEATS = 9  # at least: a difference of a few per cent, on a shared machine
PROBES_PER_RUN = 200  # more than the harness's ~64 log-spaced probe epochs: an upper bound


def dynamics_runs(wid, epochs):
    """(run(probe) -> seconds, benchmarks.md's epoch count) for our float64 network on workload
    wid: W1–W3 as in the main table, C1 (the course network) with its validation bookkeeping."""
    def keep(epoch, record, net, active):
        keep.last = record

    if wid == "C1":
        from benchmarks.replicas import WORKLOADS as COURSE
        from benchmarks.replicas import replica_data

        course = COURSE["C1"]
        X, y, X_val, y_val = replica_data(course, 0)
        sizes, activation, init = (2, *course.hidden, 1), course.activation, course.init
        config = TrainingConfig(learning_rate=course.learning_rate, epochs=epochs, optimizer="gd")
        validation, total = (X_val, y_val), course.epochs
        start_weights = None
    else:
        workload = {w.id: w for w in WORKLOADS}[wid]
        problem = make_problem(workload)
        X, y, sizes, activation = problem.X.T, problem.labels, problem.sizes, workload.activation
        config = TrainingConfig(learning_rate=LEARNING_RATE, epochs=epochs, optimizer="sgd",
                                batch_size=workload.batch_size)
        validation, total, start_weights = None, workload.epochs, (problem.W, problem.b)
    net = Network(sizes, activation)

    def run(probe):
        if start_weights is None:
            net.initialize(init, np.random.default_rng(SEED))
        else:
            net.set_parameters(*start_weights)
        rng = np.random.default_rng(SEED)
        start = time.process_time()  # CPU time: the probe's own cost, steadier on a shared machine
        train(net, X, y, config, rng, validation, keep, probe)
        return time.process_time() - start

    return run, total


def time_dynamics(wid, repeats, epochs, settle=SETTLE_SECONDS):
    """CPU seconds per epoch without probing, probing every epoch, and probing at the default
    resolution (every max(1, epochs / 200)-th epoch of benchmarks.md's count), alternating; the
    best of the repeats (a difference of a few per cent: interference only adds time)."""
    run, total = dynamics_runs(wid, epochs)
    every = max(1, round(total / PROBES_PER_RUN))
    variants = {"none": None, "every_epoch": lambda epoch: True,
                "default_resolution": lambda epoch: epoch % every == 0}
    for probe in variants.values():
        run(probe)
    samples = {name: [] for name in variants}
    names = list(variants)
    for r in range(max(repeats, DYNAMICS_REPEATS)):
        for name in names[r % 3:] + names[: r % 3]:
            time.sleep(settle)
            samples[name].append(run(variants[name]) / epochs)
    seconds = {name: min(v) for name, v in samples.items()}  # other processes only add time
    return {
        "epochs_per_repeat": epochs, "epochs_benchmarks_md": total, "probe_every": every,
        "seconds_per_epoch": seconds, "all_seconds_per_epoch": samples,
        "overhead_every_epoch": seconds["every_epoch"] / seconds["none"] - 1,
        "overhead_default_resolution": seconds["default_resolution"] / seconds["none"] - 1,
    }


def check_targets(results, peak64):
    """The issue's speed targets: (name, value, limit, 'PASS' | 'MISS' | 'SKIP')."""
    targets = []
    for wid, r in results.items():
        limit = 0.8 if wid == "W3" else 0.6
        targets.append((f"{wid} ours/sklearn <= {limit}", r["ratios"]["ours/sklearn"], limit))
        for key in ("ours_f64/torch_f64", "ours_f32/torch_f32"):
            targets.append((f"{wid} {key} <= 1.0", r["ratios"][key], 1.0))
    rows = [(name, v, lim, "SKIP" if v is None else "PASS" if v <= lim else "MISS")
            for name, v, lim in targets]
    if "W3" in results:
        share = results["W3"]["gflops"]["ours_f64"] / peak64
        rows.append(("W3 ours f64 share of f64 matmul peak >= 0.75", share, 0.75,
                     "PASS" if share >= 0.75 else "MISS"))
    return [{"target": n, "value": v, "limit": lim, "result": res} for n, v, lim, res in rows]


def src_version():
    """The commit measured, '+dirty' if src/ has uncommitted changes; None without git."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def environment():
    """What the run used: versions, BLAS libraries and threads (threadpoolctl), OpenBLAS vars."""
    return {
        "src_version": src_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "numpy": np.__version__,
        "scikit_learn": sklearn.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "openblas_env": {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ},
        "threadpools": [
            {k: info.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                       "architecture", "threading_layer")}
            | {"file": os.path.basename(info.get("filepath", ""))}
            for info in threadpoolctl.threadpool_info()
        ],
    }


# ------------------------------------------------------------------------------------- printing
def fmt(x, spec=".3g"):
    return "—" if x is None else format(x, spec)


def fmt_load(load):
    return " ".join(f"{x:.2f}" for x in load)


def print_report(report):
    env, peak = report["environment"], report["matmul_peak_gflops"]
    print(f"netlab benchmark of src at {env['src_version']}")
    print(f"  Python {env['python']}, numpy {env['numpy']}, scikit-learn {env['scikit_learn']}, "
          f"torch {env['torch'] or 'not installed'}, {env['cpu_count']} CPUs ({env['platform']})")
    for pool in env["threadpools"]:
        print(f"  threadpool: {pool['internal_api']} {pool['version']} ({pool['user_api']}), "
              f"{pool['num_threads']} threads, architecture {pool['architecture']}, "
              f"{pool['threading_layer']}, {pool['file']}")
    print(f"  load average (1, 5, 15 min) at start {fmt_load(env['load_average_at_start'])}, "
          f"at end {fmt_load(env['load_average_at_end'])}: other processes share these cores")
    blas = [pool for pool in env["threadpools"] if pool["user_api"] == "blas"]
    if len(blas) > 1:
        print(f"  note: {len(blas)} BLAS libraries loaded, each with its own thread pool: code that"
              " alternates between them (numpy's matmul, scipy.linalg.blas)\n  makes their idle,"
              " spinning threads fight for the cores")
    if env["openblas_env"]:
        print("  OpenBLAS environment variables SET: "
              + ", ".join(f"{k}={v}" for k, v in env["openblas_env"].items())
              + "\n  (they may slow numpy: compare with "
              "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.nn)")
    else:
        print("  OpenBLAS environment variables: none set")
    if report["threads_limit"]:
        print(f"  --threads {report['threads_limit']}: every BLAS/OpenMP pool and PyTorch limited")
    if env["torch"] is None:
        print("  note: PyTorch is not installed, so its columns are skipped "
              "(pip install torch==2.13.0 for the CPU build)")
    else:
        print(f"  torch threads: {env['torch_threads']}")
    for dtype in ("float64", "float32"):
        sizes = ", ".join(f"{n}: {g:.1f}" for n, g in peak[dtype]["by_size"].items())
        print(f"  numpy matmul peak {dtype}: {peak[dtype]['best']:.1f} GFLOP/s  ({sizes})")
    if report["quick"]:
        print("  --quick: tiny epoch counts, a smoke test only; these figures mean nothing")

    print("\nSeconds per epoch, median of the repeats "
          "(epochs = per timed repeat / benchmarks.md's count)")
    cols = [HEADERS[n] for n in IMPLEMENTATIONS]
    print(f"{'id':5} {'epochs':>9} {'reps':>4} " + " ".join(f"{c:>10}" for c in cols)
          + f" {'ours/skl':>9} {'ours/t64':>9} {'o32/t32':>9}")
    for wid, r in report["workloads"].items():
        s, q = r["seconds_per_epoch"], r["ratios"]
        epochs = f"{r['epochs_per_repeat']}/{r['epochs_benchmarks_md']}"
        print(f"{wid:5} {epochs:>9} {r['repeats']:>4} "
              + " ".join(f"{fmt(s[n], '.3e'):>10}" for n in IMPLEMENTATIONS)
              + f" {fmt(q['ours/sklearn'], '.3f'):>9} {fmt(q['ours_f64/torch_f64'], '.3f'):>9}"
              + f" {fmt(q['ours_f32/torch_f32'], '.3f'):>9}")

    p64, p32 = peak["float64"]["best"], peak["float32"]["best"]
    print(f"\nAchieved GFLOP/s (6 × weights × samples / s); share of numpy matmul peak "
          f"(f64 {p64:.1f}, f32 {p32:.1f} GFLOP/s)")
    print(f"{'id':5} {'GFLOP/ep':>9} " + " ".join(f"{c:>10}" for c in cols)
          + f" {'ours %f64pk':>11} {'o32 %f32pk':>11}")
    for wid, r in report["workloads"].items():
        g = r["gflops"]
        print(f"{wid:5} {r['flop_per_epoch'] / 1e9:>9.4f} "
              + " ".join(f"{fmt(g.get(n), '.2f'):>10}" for n in IMPLEMENTATIONS)
              + f" {g['ours_f64'] / p64:>11.1%} {g['ours_f32'] / p32:>11.1%}")

    if report.get("dynamics"):
        print("\nTraining dynamics (norms, saturated/dead shares): ours f64 CPU seconds per epoch"
              " (best of the repeats)\nwithout probing, probing every epoch, and at the default "
              "resolution (~200 probe epochs a run: every\nk-th epoch); target: ≤ 5 % at the "
              "default resolution")
        print(f"{'id':5} {'epochs':>10} {'none':>10} {'every ep.':>10} {'overhead':>9} "
              f"{'every k':>8} {'at k':>10} {'overhead':>9}  result")
        for wid, d in report["dynamics"].items():
            s = d["seconds_per_epoch"]
            ok = "PASS" if d["overhead_default_resolution"] <= 0.05 else "MISS"
            epochs = f"{d['epochs_per_repeat']}/{d['epochs_benchmarks_md']}"
            print(f"{wid:5} {epochs:>10} {s['none']:>10.3e} {s['every_epoch']:>10.3e} "
                  f"{d['overhead_every_epoch']:>9.1%} {d['probe_every']:>8} "
                  f"{s['default_resolution']:>10.3e} "
                  f"{d['overhead_default_resolution']:>9.1%}  {ok}")

    print("\nTargets (issue 2, Speed)")
    for t in report["targets"]:
        value = fmt(t["value"], ".3f")
        print(f"  {t['result']:4}  {t['target']:<46} measured {value}")


def markdown(report):
    """The report's tables in Markdown, for docs/benchmarks.md."""
    peak = report["matmul_peak_gflops"]
    p64, p32 = peak["float64"]["best"], peak["float32"]["best"]
    cols = [HEADERS[n] for n in IMPLEMENTATIONS]
    lines = ["Seconds per epoch (median of the repeats; epochs = per timed repeat / "
             "benchmarks.md's count); the ratios are ours / the peer's time, below 1 is faster.",
             "", "| id | epochs | " + " | ".join(cols)
             + " | ours / sklearn | ours f64 / torch f64 | ours f32 / torch f32 | "
             "ours, share of f64 matmul peak |",
             "|" + "---|" * (len(cols) + 6)]
    for wid, r in report["workloads"].items():
        s, q = r["seconds_per_epoch"], r["ratios"]
        lines.append(f"| {wid} | {r['epochs_per_repeat']}/{r['epochs_benchmarks_md']} | "
                     + " | ".join(fmt(s[n], ".2e") for n in IMPLEMENTATIONS)
                     + f" | {fmt(q['ours/sklearn'], '.2f')} | {fmt(q['ours_f64/torch_f64'], '.2f')}"
                     f" | {fmt(q['ours_f32/torch_f32'], '.2f')} | "
                     f"{r['gflops']['ours_f64'] / p64:.1%} |")
    lines += ["", f"NumPy's own square matmul peak: {p64:.1f} GFLOP/s in float64, {p32:.1f} in "
              "float32."]
    if report["environment"]["torch"] is None:
        lines.append("PyTorch was not installed, so its columns are empty.")
    if report.get("dynamics"):
        lines += ["", "Recording the training dynamics (netlab.nn.dynamics), ours float64, CPU "
                  "seconds per epoch (best of the repeats):", "",
                  "| id | epochs | none | every epoch | overhead | every k-th | at k | overhead |",
                  "|---|---|---|---|---|---|---|---|"]
        for wid, d in report["dynamics"].items():
            s = d["seconds_per_epoch"]
            lines.append(f"| {wid} | {d['epochs_per_repeat']}/{d['epochs_benchmarks_md']} | "
                         f"{s['none']:.2e} | {s['every_epoch']:.2e} | "
                         f"{d['overhead_every_epoch']:.1%} | {d['probe_every']} | "
                         f"{s['default_resolution']:.2e} | "
                         f"{d['overhead_default_resolution']:.1%} |")
    lines += ["", "Targets (issue 2, Speed):", "", "| target | measured | result |",
              "|---|---|---|"]
    lines += [f"| {t['target']} | {fmt(t['value'], '.3f')} | {t['result']} |"
              for t in report["targets"]]
    return "\n".join(lines)


def settings(report):
    """What the run was set to, in words, for docs/benchmarks.md."""
    threads = report["threads_limit"] or "all cores'"
    text = (f"workloads {', '.join(report['workloads'])}, {report['repeats']} timed repeats "
            f"after a warm-up, {threads} BLAS threads; dynamics timed on "
            f"{', '.join(report['dynamics']) or 'none'}; load average "
            f"{fmt_load(report['environment']['load_average_at_start'])} at the start.")
    if report["quick"]:
        text += " `--quick`: tiny epoch counts, a smoke test whose figures mean nothing."
    return text


# ------------------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nn", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workloads", default=",".join(w.id for w in WORKLOADS),
                        help="comma-separated ids (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit every BLAS/OpenMP pool and PyTorch to N threads (default: all "
                        "cores); 1 gives steadier figures when other processes load the machine")
    parser.add_argument("--quick", action="store_true",
                        help="tiny epoch counts and matmul sizes: a smoke test, not a measurement")
    parser.add_argument("--dynamics", default=None,
                        help="comma-separated ids of W1, W2, W3, C1 whose cost of recording the "
                        "training dynamics to time (default: C1 and those of --workloads; '' none)")
    docs.add_argument(parser)
    args = parser.parse_args(argv)

    known = {w.id: w for w in WORKLOADS}
    wanted = [s.strip() for s in args.workloads.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in known]
    if unknown or not wanted:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(known)}")
    repeats = args.repeats or (3 if args.quick else 5)
    if repeats < 1:
        parser.error("--repeats must be >= 1")

    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.dynamics is None:
        args.dynamics = ",".join([w for w in wanted if w in DYNAMICS_WORKLOADS] + ["C1"])
    args.dynamics = [s.strip() for s in args.dynamics.split(",") if s.strip()]
    if any(d not in DYNAMICS_WORKLOADS for d in args.dynamics):
        parser.error(f"--dynamics: choose from {', '.join(DYNAMICS_WORKLOADS)}")
    limits = threadpoolctl.threadpool_limits(args.threads) if args.threads else nullcontext()
    if torch is not None:
        torch.set_num_threads(args.threads or os.cpu_count())
    with limits:
        report = measure(args, wanted, repeats, argv)
    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nfigures written to {args.json}")
    if args.write_docs:
        docs.write_section("nn", docs.section(
            "The network against scikit-learn and PyTorch", report["command"], settings(report),
            markdown(report)), args.write_docs)
    return report


def measure(args, wanted, repeats, argv=None):
    """The report: environment, matmul peak, every wanted workload timed, the targets checked."""
    known = {w.id: w for w in WORKLOADS}
    peak_sizes = (128, 256) if args.quick else PEAK_SIZES
    report = {
        "command": docs.command("benchmarks.nn", argv),
        "quick": args.quick,
        "repeats": repeats,
        "threads_limit": args.threads,
        "environment": environment(),
        "matmul_peak_gflops": {
            "float64": matmul_peak(np.float64, peak_sizes),
            "float32": matmul_peak(np.float32, peak_sizes),
        },
        "workloads": {},
    }
    for wid in wanted:
        workload = known[wid]
        epochs = max(1, workload.repeat_epochs // 100) if args.quick else workload.repeat_epochs
        settle = 0.0 if args.quick else SETTLE_SECONDS
        report["workloads"][wid] = time_workload(workload, repeats, epochs, settle)
    report["dynamics"] = {}
    for wid in args.dynamics:
        full = {"C1": 1000, **{w.id: w.repeat_epochs for w in WORKLOADS}}[wid]
        epochs = max(1, full // 100) if args.quick else full
        report["dynamics"][wid] = time_dynamics(wid, repeats, epochs,
                                                0.0 if args.quick else SETTLE_SECONDS)
    report["environment"]["load_average_at_end"] = list(os.getloadavg())
    report["targets"] = check_targets(report["workloads"],
                                      report["matmul_peak_gflops"]["float64"]["best"])
    return report


if __name__ == "__main__":
    main()
