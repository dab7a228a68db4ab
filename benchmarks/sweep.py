"""`python -m benchmarks.sweep`: what the harness costs a sweep, against the throughput targets.

    python -m benchmarks.sweep [--only per_job,startup,…] [--quick] [--json PATH]
                               [--write-docs [PATH]]

Every measurement runs the real command line (`python -m src.run -m …`) in a temporary folder,
into a SQLite store of its own created before the timed command (as for every sweep after a
project's first), and reads back from the store what the runs say: their training time
(`train_time_s`, summed), when the first run was created (`start_time`: just before its training),
the store's size. One table prints every figure with its target beside it (the per-job and
start-up targets were withdrawn by issue 20, set below what Hydra's and MLflow's public interfaces
allow here: those figures are shown without one):

- per_job: harness per job on a 48-job sweep of `epochs=1` (3 activations × 4 widths × 4 lr),
  sequential: (wall − Σ training) / jobs, and the marginal cost ((wall₄₈ − wall₁) − (Σtraining₄₈ −
  Σtraining₁)) / 47, beside Hydra's own floor from the same config tree (a no-op task, no
  callbacks, 48 jobs against 1).
- startup: from the command to the first job's training (the first run's creation), one job;
  beside it the floor: importing what that job needs (Hydra, scikit-learn's data, MLflow's store).
- parallel: the default study with 4 seeds (48 runs), one job after another
  (NETLAB_WORKERS=1) and as a sweep runs by default (every core, the grid sweeper's joblib
  workers): the speed-up, and whether every job's results.yaml and weights.npz are bit-identical.
- share: harness and tracking as a share of the wall time after start-up,
  (wall − start-up − Σ training) / (wall − start-up), for the default study and for 6 jobs that
  train ~1 s each (moons, 2000 points, width 64, 3000 epochs).
- thousand: 1,000 runs of the flower (5 widths × 5 lr × 4 activations × 10 seeds, 500 epochs) as
  1,000 jobs and as 100 jobs of seeds=10 (both `hydra.sweeper.pack=false`, as before packing),
  then packed (the default: the 5 lr × 10 seeds of each network in one job), sequential and on 2
  joblib workers, in runs per minute.
- packing: configurations a stack of replicas holds together launched as one job (the grid
  sweeper's default) against one job each (`hydra.sweeper.pack=false`, as every sweep ran before
  packing), both sequential, in runs per minute: P1, an lr × seed sweep of the course network
  (the width study's flower network at width 4, lr 0.05 … 4.0 × 10 seeds, 70 runs), and P2, the
  200-run flower grid (5 lr × 4 activations × 10 seeds, width 4, 500 epochs), the fastest of
  two alternated runs of each; and whether both logged the same figures, bit for bit, for every
  config hash.
- disk: the store's bytes (database and artifacts) per run, after the default study.
- big_store: the default study rerun (everything already finished, so every job is skipped) in
  its own store and beside 10,000 other runs in the same experiment (benchmarks/bigstore.py clones
  them): the time per skipped job (the whole command, 12 jobs against 1, each command resuming
  its own sweep, which includes composing each job's config; and the launcher's own time per job
  after the first, from its log lines), the skip check a
  job makes when it is started (under a parallel launcher, or in a sweep not resumed), and the
  ratio of the two reruns.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mlflow import MlflowClient

from benchmarks import docs
from netlab.tracking.store import open_store

ROOT = Path(__file__).resolve().parents[1]
H1 = ["activation=sigmoid,tanh,relu", "width=2,4,8,16", "lr=0.01,0.1,1,10", "epochs=1"]
THOUSAND = ["dataset=flower", "width=2,4,8,16,32", "lr=0.03,0.1,0.3,1,3",
            "activation=sigmoid,tanh,relu,leaky_relu", "epochs=500"]
ONE_SECOND = ["dataset=moons", "dataset.n_samples=2000", "width=64", "epochs=3000",
              "seed=0,1,2,3,4,5"]
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
TARGETS = {"per_job_ms": None, "startup_s": None, "parallel_speedup": 1.8, "share": 0.15,
           "runs_per_min": 300, "disk_kb_per_run": 100, "skip_ms": 20, "big_store_ratio": 1.2,
           "packing_ratio": 3, "packed_runs_per_min": 600, "packed_joblib_runs_per_min": 1100}
PACKING = {"P1: the course network, 7 lr × 10 seeds": [  # (the width study's network, width 4)
               "+experiment=width", "width=4", "lr=0.05,0.1,0.3,0.6,1.2,2.0,4.0"],
           "P2: flower, 5 lr × 4 activations × 10 seeds": [
               "dataset=flower", "width=4", "epochs=500", "lr=0.03,0.1,0.3,1,3",
               "activation=sigmoid,tanh,relu,leaky_relu", "seeds=10"]}
PACKING_QUICK = {"3 lr × 4 seeds, 100 epochs": ["lr=0.1,0.3,1", "seeds=4", "epochs=100"]}


def env_for(uri, workers="1"):
    """The environment of a timed command: its own store, the project importable, and the grid
    sweeper's workers (NETLAB_WORKERS): one job after another unless a measure says otherwise
    (None: the default a user has, every core) or names its launcher (JOBLIB)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "NETLAB_WORKERS")}
    return {**env, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT),
            **({"NETLAB_WORKERS": workers} if workers is not None else {})}


def new_store(folder):
    """A created (migrated) SQLite store in folder; returns its URI."""
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    open_store(uri)
    return uri


def sweep(folder, args, experiment="bench", uri=None, module="src.run", workers="1"):
    """Run `python -m src.run -m *args` in folder (NETLAB_WORKERS=workers, see env_for);
    returns what the store says about it."""
    uri = uri or new_store(folder)
    command = [sys.executable, "-m", module, "-m", *args, f"mlflow.experiment={experiment}",
               f"hydra.sweep.dir={folder / 'multirun' / str(time.time_ns())}"]
    started = time.time()
    done = subprocess.run(command, cwd=folder, env=env_for(uri, workers), capture_output=True,
                          text=True)
    wall = time.time() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], "attributes.start_time > "
                              f"{int(started * 1000)}", max_results=50000) if found else []
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    first = min((r.info.start_time for r in children), default=None)
    return {"wall_s": wall, "runs": len(children),
            "train_s": sum(r.data.metrics.get("train_time_s", 0.0) for r in children),
            "startup_s": (first / 1000 - started) if first else None,
            "sweep_dir": Path(command[-1].split("=", 1)[1]), "uri": uri,
            "stderr": done.stderr, "stdout": done.stdout}


def hydra_floor(folder, args):
    """Hydra's own cost per job: a no-op task over the same config tree, without callbacks."""
    floor = [sys.executable, "-m", "benchmarks.hydra_floor", "-m", *args,
             "~hydra.callbacks.netlab", "hydra/sweeper=basic",  # Hydra's own sweeper and launcher
             f"hydra.sweep.dir={folder / 'floor'}"]
    started = time.time()
    subprocess.run(floor, cwd=folder, env=env_for("sqlite:///unused.db"), check=True,
                   capture_output=True)
    return time.time() - started


def per_job(folder, quick):
    """Harness per job on a sweep of epochs=1, beside Hydra's floor."""
    jobs = H1 if not quick else ["activation=sigmoid,tanh", "width=2,4", "epochs=1"]
    one = ["activation=tanh", "width=2", "lr=0.1", "epochs=1"]
    many = sweep(folder / "many", jobs) if _mk(folder / "many") else None
    single = sweep(folder / "one", one) if _mk(folder / "one") else None
    n = many["runs"]
    marginal = ((many["wall_s"] - single["wall_s"]) - (many["train_s"] - single["train_s"])) / (
        n - 1)
    floor = (hydra_floor(folder, jobs) - hydra_floor(folder, one)) / (n - 1)
    return {"jobs": n, "per_job_ms": 1000 * (many["wall_s"] - many["train_s"]) / n,
            "marginal_ms": 1000 * marginal, "hydra_floor_ms": 1000 * floor,
            "wall_s": many["wall_s"], "train_s": many["train_s"]}


def startup(folder, quick):
    """Seconds from the command to the first job's training, for a one-job sweep."""
    _mk(folder)
    result = sweep(folder, ["epochs=1"])
    return {"startup_s": result["startup_s"], "wall_s": result["wall_s"],
            "imports_s": import_floor()}


# the libraries a job imports before it trains: scikit-learn for its data, MLflow's database store
# for the runs that claim it
JOB_LIBRARIES = ("sklearn.datasets", "sklearn.model_selection", "sklearn.preprocessing",
                 "mlflow.store.tracking.sqlalchemy_store")
IMPORTS = ("hydra", *JOB_LIBRARIES)


def import_floor():
    """Seconds a fresh interpreter takes to import what the first job needs before it trains:
    Hydra, scikit-learn's data functions (the data) and MLflow's store (the run that claims it)."""
    code = ("import time; t = time.perf_counter(); import " + ", ".join(IMPORTS)
            + "; print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    return min(times)


def results_of(sweep_dir):
    """{job: (results.yaml text without timing, weights arrays)} of a sweep folder."""
    import yaml

    jobs = {}
    for job in sorted(p for p in Path(sweep_dir).iterdir() if p.name.isdigit()):
        results = yaml.safe_load((job / "results.yaml").read_text())
        for row in results.get("replicas", [results]):
            row.pop("train_time_s", None)
        weights = {}
        if (job / "weights.npz").exists():
            with np.load(job / "weights.npz") as arrays:
                weights = {k: arrays[k] for k in arrays.files}
        jobs[job.name] = (results, weights)
    return jobs


def parallel(folder, quick):
    """The default study with 4 seeds, one job after another and as a sweep runs by default
    (every core: the grid sweeper's joblib workers)."""
    args = ["+experiment=activations", "seeds=1", "seed=0,1,2,3"] if not quick else [
        "+experiment=activations", "seeds=1", "epochs=200", "dataset=moons,xor"]
    seq = sweep(folder / "seq", args) if _mk(folder / "seq") else None
    par = sweep(folder / "par", args, workers=None) if _mk(folder / "par") else None
    a, b = results_of(seq["sweep_dir"]), results_of(par["sweep_dir"])
    identical = a.keys() == b.keys() and all(
        a[j][0] == b[j][0] and a[j][1].keys() == b[j][1].keys()
        and all(np.array_equal(a[j][1][k], b[j][1][k]) for k in a[j][1]) for j in a)
    workers = re.search(r"(\d+) at once on joblib's workers", par["stderr"])
    return {"jobs": seq["runs"], "sequential_s": seq["wall_s"], "joblib_s": par["wall_s"],
            "workers": int(workers[1]) if workers else 1,
            "speedup": seq["wall_s"] / par["wall_s"], "bit_identical": identical}


def share(folder, quick):
    """Harness and tracking as a share of the wall time after start-up."""
    out = {}
    cases = {"default study, one seed a job": ["+experiment=activations", "seeds=1"],
             "default study as committed (seeds=10)": ["+experiment=activations"],
             "6 jobs of ~1 s": ONE_SECOND}
    if quick:
        cases = {"default study": ["+experiment=activations", "seeds=1", "epochs=300",
                                   "dataset=moons"]}
    for name, args in cases.items():
        where = folder / re.sub(r"[^A-Za-z0-9]+", "_", name)  # a Hydra override takes no comma
        _mk(where)
        r = sweep(where, args)
        after = r["wall_s"] - r["startup_s"]
        out[name] = {"runs": r["runs"], "wall_s": r["wall_s"], "startup_s": r["startup_s"],
                     "train_s": r["train_s"], "share": (after - r["train_s"]) / after,
                     "uri": r["uri"]}
    return out


def thousand(folder, quick):
    """1,000 flower runs as 1,000 jobs and as 100 jobs of 10 replicas, in runs per minute."""
    seeds = "seed=range(0,10)" if not quick else "seed=range(0,2)"
    grid = THOUSAND if not quick else ["dataset=flower", "width=2,4", "epochs=50"]
    out = {}
    replicas = [*grid, "seeds=10" if not quick else "seeds=2"]
    apart = "hydra.sweeper.pack=false"
    for name, args in (("jobs", [*grid, seeds, apart]), ("replicas", [*replicas, apart]),
                       ("packed", replicas), ("packed_joblib", [*replicas, *JOBLIB])):
        _mk(folder / name)
        r = sweep(folder / name, args)
        out[name] = {"runs": r["runs"], "wall_s": r["wall_s"],
                     "runs_per_min": 60 * r["runs"] / r["wall_s"], "train_s": r["train_s"]}
    return out


def figures_by_hash(uri, experiment):
    """{config_hash: {metric: repr(value)}} of a store's runs (a NaN equal to a NaN), the times
    (train_time_s, tracking_time_s) left out."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return {r.data.tags["config_hash"]: {k: repr(v) for k, v in r.data.metrics.items()
                                         if not k.endswith("_time_s")}
            for r in client.search_runs([found.experiment_id], max_results=50000)
            if "config_hash" in r.data.tags}


def packing(folder, quick):
    """Packed sweeps against one job per configuration, in runs per minute, alternated."""
    out = {}
    for name, args in (PACKING_QUICK if quick else PACKING).items():
        where = folder / re.sub(r"[^A-Za-z0-9]+", "_", name)
        tries = {"apart": [], "packed": []}
        for k in range(2 if not quick else 1):  # alternated, each into a new store; the fastest
            for how, extra in (("apart", ["hydra.sweeper.pack=false"]), ("packed", [])):
                _mk(where / f"{how}{k}")
                tries[how].append(sweep(where / f"{how}{k}", [*args, *extra]))
        apart, packed = fastest(tries["apart"]), fastest(tries["packed"])
        same = figures_by_hash(apart["uri"], "bench") == figures_by_hash(packed["uri"], "bench")
        out[name] = {"runs": packed["runs"], "packed_s": packed["wall_s"],
                     "apart_s": apart["wall_s"], "ratio": apart["wall_s"] / packed["wall_s"],
                     "packed_runs_per_min": 60 * packed["runs"] / packed["wall_s"],
                     "apart_runs_per_min": 60 * apart["runs"] / apart["wall_s"],
                     "bit_identical": same}
    return out


def disk(uri, empty_bytes):
    """Bytes per run of a store, the database (and its WAL) and the artifact folders beside it,
    less what the same store held empty (MLflow's schema)."""
    db = Path(uri[len("sqlite:///"):])
    total = sum(f.stat().st_size for f in db.parent.rglob("*") if f.is_file()) - empty_bytes
    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              max_results=50000)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return {"runs": len(children), "bytes": total, "kb_per_run": total / 1024 / len(children)}


def empty_store_bytes(folder):
    """The bytes of a newly created store (its schema)."""
    _mk(folder)
    db = Path(new_store(folder)[len("sqlite:///"):])
    return sum(f.stat().st_size for f in db.parent.rglob("*") if f.is_file())


def skip_check_ms(uri, experiment, args):
    """In process, the median time of the skip check of each job of a sweep (describe its data,
    hash its identity, look up its group's finished runs)."""
    from hydra import compose, initialize_config_dir

    from netlab import identity
    from netlab.hydra_glue.jobs import of_config as sweep_jobs
    from netlab.tracking.logger import new_client
    from netlab.tracking.store import finished_by_hash, get_or_create_experiment, runs_of_group

    client = new_client(uri)
    experiment_id = get_or_create_experiment(client, experiment)
    times = []
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        master = compose("config", overrides=args, return_hydra_config=True)
        for job in sweep_jobs(master):
            cfg = compose("config", overrides=job)
            t0 = time.perf_counter()
            hashes, _ = identity.of_job(cfg, [cfg.seed])
            done = finished_by_hash(runs_of_group(client, experiment_id, hashes[0][1]))
            times.append(time.perf_counter() - t0)
            assert hashes[0][0] in done, "a finished job not found"
    return 1000 * float(np.median(times))


HYDRA_JOB_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\]\[HYDRA\] \t#\d+ : ",
                            re.MULTILINE)


def launch_ms(stdout):
    """Milliseconds per job between the launcher's second and last `#n : …` lines (Hydra's log,
    stamped to the millisecond): what the launch loop spends on each job after the first (which
    imports the job's code), nothing before the loop."""
    stamps = [time.mktime(time.strptime(day, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000
              for day, ms in HYDRA_JOB_LINE.findall(stdout)]
    return 1000 * (stamps[-1] - stamps[1]) / (len(stamps) - 2) if len(stamps) > 2 else None


def big_store(folder, quick):
    """A finished default study rerun in its own store, then beside 10,000 other runs."""
    from benchmarks.bigstore import clone_runs

    _mk(folder)
    args = ["+experiment=activations", "seeds=1"] if not quick else [
        "+experiment=activations", "seeds=1", "epochs=50"]
    first = sweep(folder, args, experiment="activations")
    alone = fastest(sweep(folder, args, experiment="activations", uri=first["uri"])
                    for _ in range(REPEATS))
    big = folder / "big"
    big.mkdir()
    shutil.copytree(Path(first["uri"][len("sqlite:///"):]).parent, big / "mlruns")
    uri = f"sqlite:///{big / 'mlruns' / 'mlflow.db'}"
    n = 10000 if not quick else 200
    clone_runs(uri, "activations", n)
    single = [*args, "dataset=moons", "activation=tanh"]  # one of the study's finished jobs
    sweep(big, single, experiment="activations", uri=uri)  # a sweep of its own (its parent run)
    crowded, one = [], []  # each command resumes its sweep; alternated, the fastest of each kept
    for _ in range(REPEATS):
        crowded.append(sweep(big, args, experiment="activations", uri=uri))
        one.append(sweep(big, single, experiment="activations", uri=uri))
    crowded, one = fastest(crowded), fastest(one)
    jobs = crowded["stderr"].count("already FINISHED") + crowded["stdout"].count(
        "already FINISHED")
    return {"jobs": jobs, "alone_s": alone["wall_s"], "crowded_s": crowded["wall_s"],
            "other_runs": n, "ratio": crowded["wall_s"] / alone["wall_s"],
            "skip_ms": 1000 * (crowded["wall_s"] - one["wall_s"]) / max(jobs - 1, 1),
            "launch_ms": launch_ms(crowded["stdout"]),
            "skip_check_ms": skip_check_ms(uri, "activations", args)}


REPEATS = 3  # the big store's reruns: whole commands of ~6 s, whose time varies by ~0.3 s


def fastest(results):
    """The fastest of sweep() results."""
    return min(results, key=lambda r: r["wall_s"])


def _mk(folder):
    folder.mkdir(parents=True, exist_ok=True)
    return True


def verdict(value, target, higher_is_better=False):
    """'met' or 'MISSED' for a figure against its target."""
    if value is None:
        return "—"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "MISSED"


def table(results):
    """The figures as one Markdown table, each beside its target."""
    rows = ["| measure | figure | target | |", "|---|---|---|---|"]

    def add(name, value, unit, target, higher=False, digits=0):
        shown = "—" if value is None else f"{value:.{digits}f} {unit}".strip()
        goal = f"{'≥' if higher else '≤'} {target} {unit}".strip() if target is not None else ""
        rows.append(f"| {name} | {shown} | {goal} | "
                    f"{verdict(value, target, higher) if target is not None else ''} |")

    if "per_job" in results:
        r = results["per_job"]
        add(f"harness per job, {r['jobs']} jobs of epochs=1, sequential: "
            "(wall − Σ training) / jobs", r["per_job_ms"], "ms", TARGETS["per_job_ms"])
        add("… the same, marginal (48 jobs against 1)", r["marginal_ms"], "ms",
            TARGETS["per_job_ms"])
        add("Hydra's own floor, same config tree (no-op task, 48 jobs against 1)",
            r["hydra_floor_ms"], "ms", None)
    if "startup" in results:
        add("start-up: command to the first job's training", results["startup"]["startup_s"],
            "s", TARGETS["startup_s"], digits=2)
        add("… the floor: importing " + ", ".join(IMPORTS) + " in a fresh interpreter",
            results["startup"]["imports_s"], "s", None, digits=2)
    if "parallel" in results:
        r = results["parallel"]
        add(f"a sweep's default (every core: {r['workers']} workers) against one job after "
            f"another, default study × 4 seeds ({r['jobs']} runs: "
            f"{r['sequential_s']:.1f} s → {r['joblib_s']:.1f} s)", r["speedup"], "×",
            TARGETS["parallel_speedup"], higher=True, digits=2)
        rows.append(identical_row("results and weights bit-identical", r["bit_identical"]))
    for name, r in results.get("share", {}).items():
        add(f"harness + tracking share after start-up, {name} ({r['runs']} runs, "
            f"{r['wall_s']:.1f} s wall, {r['train_s']:.1f} s training)", 100 * r["share"], "%",
            100 * TARGETS["share"])
    for name, r in results.get("thousand", {}).items():
        how = {"jobs": "1,000 jobs", "replicas": "100 jobs × seeds=10",
               "packed": "packed jobs (the default), one core",
               "packed_joblib": "packed jobs, joblib 2 workers"}[name]
        target = TARGETS.get(f"{name}_runs_per_min", TARGETS["runs_per_min"])
        add(f"{r['runs']} flower runs as {how} ({r['wall_s']:.0f} s)", r["runs_per_min"],
            "runs/min", target, higher=True)
    for name, r in results.get("packing", {}).items():
        add(f"packed against one job per configuration, {name} ({r['runs']} runs: "
            f"{r['apart_runs_per_min']:.0f} → {r['packed_runs_per_min']:.0f} runs/min, "
            f"{r['apart_s']:.1f} s → {r['packed_s']:.1f} s)", r["ratio"], "×",
            TARGETS["packing_ratio"], higher=True, digits=2)
        rows.append(identical_row("every run's figures bit-identical", r["bit_identical"]))
    if "disk" in results:
        add(f"disk per run ({results['disk']['runs']} runs)", results["disk"]["kb_per_run"], "KB",
            TARGETS["disk_kb_per_run"])
    if "big_store" in results:
        r = results["big_store"]
        add(f"skipping a finished job beside {r['other_runs']:,} other runs: the whole job "
            f"({r['jobs']} skipped against 1, fastest of {REPEATS} each)", r["skip_ms"], "ms",
            TARGETS["skip_ms"])
        add("… of which the launcher's, per skipped job after the first (its log lines' "
            "times)", r["launch_ms"], "ms", TARGETS["skip_ms"], digits=1)
        add("… the skip check a started job makes (in process, median)", r["skip_check_ms"],
            "ms", TARGETS["skip_ms"], digits=1)
        add(f"rerun of the finished study: crowded / alone, fastest of {REPEATS} "
            f"({r['crowded_s']:.1f} s / "
            f"{r['alone_s']:.1f} s)", r["ratio"], "×", TARGETS["big_store_ratio"], digits=2)
    return "\n".join(rows)


def identical_row(what, identical):
    """A table row saying whether two ways of running gave the same figures (target: yes)."""
    return (f"| … {what} | {'yes' if identical else 'NO'} | yes | "
            f"{'met' if identical else 'MISSED'} |")


def main(argv=None):
    """Run the measurements asked for and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--only",
                        default="per_job,startup,parallel,share,thousand,packing,big_store",
                        help="comma-separated measures (disk is read from the share run)")
    parser.add_argument("--quick", action="store_true", help="small sweeps, for a smoke test")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    docs.add_argument(parser)
    args = parser.parse_args(argv)
    wanted = args.only.split(",")
    measures = {"per_job": per_job, "startup": startup, "parallel": parallel, "share": share,
                "thousand": thousand, "packing": packing, "big_store": big_store}
    results = {}
    with tempfile.TemporaryDirectory(prefix="netlab-bench-") as tmp:
        empty = empty_store_bytes(Path(tmp) / "empty")
        for name in wanted:
            if name in measures:
                print(f"measuring {name} …", file=sys.stderr, flush=True)
                results[name] = measures[name](Path(tmp) / name, args.quick)
        if "share" in results:
            results["disk"] = disk(next(iter(results["share"].values()))["uri"], empty)
            for r in results["share"].values():
                r.pop("uri")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.write_docs:  # packing has a section of its own, so either is measured alone
        size = (". `--quick`: small sweeps, a smoke test whose figures mean little."
                if args.quick else ", at their full size.")
        rest = {k: v for k, v in results.items() if k != "packing"}
        if rest:
            left = [m for m in measures if m not in results and m != "packing"]
            settings = (f"measures {', '.join(rest)}"
                        + (f" (not run this time: {', '.join(left)})" if left else "") + size)
            docs.write_section("sweep", docs.section(
                "What the harness costs a sweep", docs.command("benchmarks.sweep", argv),
                settings, table(rest)), args.write_docs)
        if "packing" in results:
            docs.write_section("packing", docs.section(
                "Packing: configurations a stack holds as one job",
                docs.command("benchmarks.sweep", argv), "measures packing" + size,
                table({"packing": results["packing"]})), args.write_docs)


if __name__ == "__main__":
    main()
