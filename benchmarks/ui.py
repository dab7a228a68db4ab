"""`python -m benchmarks.ui`: how long the MLflow UI takes to show a study's runs table, ≤ 3 s.

    python -m benchmarks.ui [--runs N] [--quick] [--json PATH] [--write-docs [PATH]]

In a temporary folder, a small real sweep (`python -m src.run -m activation=sigmoid,tanh,relu
dataset=moons,xor epochs=20 seeds=1`, experiment `activations`) fills a SQLite store; the UI is
started on it with `make ui` (MLflow's own server), the
link `make ui` prints (netlab.tracking.ui.runs_link) is opened in headless Chromium (Debian's,
driven by Playwright, 1400×900), and the time from page.goto(link) to the first run row of the table
being visible is measured: cold (a new browser context, the server's first page) and warm (a new
page in the same context, cached assets; best of 3). Then the server is stopped, the experiment is
crowded with N cloned runs (benchmarks/bigstore.py: 10,000 by default, 200 with --quick), a new
server is started on it and the same is measured again; one table shows both stores side by side.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks import docs
from benchmarks.bigstore import clone_runs
from netlab.tracking.ui import runs_link
from tests.servers import free_port, http_ok, stop

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "activations"
SWEEP = ["activation=sigmoid,tanh,relu", "dataset=moons,xor", "epochs=20", "seeds=1"]
TARGET_S = 3.0
WARM_LOADS = 3
SERVER_READY_S = 180  # the UI answers /health after ~15 s on an idle machine
SHOWN_S = 120  # a page whose first row is not visible by then counts as failed
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def small_store(folder):
    """The sweep's store in folder (the project's command line, a real sweep); returns its URI."""
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    env = {**{k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"},
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "src.run", "-m", *SWEEP, f"mlflow.experiment={EXPERIMENT}",
               f"mlflow.tracking_uri={uri}", f"hydra.sweep.dir={folder / 'm'}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the sweep failed:\n{done.stderr[-3000:]}")
    return uri


def runs_in_experiment(uri, experiment):
    """How many runs (active, any status) the experiment holds: what its runs table pages over."""
    with closing(sqlite3.connect(uri[len("sqlite:///"):])) as con:
        (count,) = con.execute(
            "select count(*) from runs join experiments using (experiment_id) "
            "where experiments.name = ? and runs.lifecycle_stage = 'active'",
            (experiment,)).fetchone()
    return count


def start_ui(uri, port, log):
    """`make ui` on the store, in a process group of its own; returns (process, seconds until
    /health answered)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "-s", "ui", f"PORT={port}", f"STORE={uri}", f"STUDY={EXPERIMENT}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = started + SERVER_READY_S
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow ui exited with {proc.returncode}:\n"
                               f"{Path(log).read_text()[-2000:]}")
        try:
            if http_ok(f"http://127.0.0.1:{port}/health"):
                return proc, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc, group=True)
    raise RuntimeError(f"mlflow ui: no answer on /health after {SERVER_READY_S} s:\n"
                       f"{Path(log).read_text()[-2000:]}")


def first_row_seconds(context, link):
    """Seconds from page.goto(link), in a new page, to the first run row of the table being
    visible. A run row: a grid row that links to a run (the header rows link to none)."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(link, wait_until="commit")
        row = page.get_by_role("row").filter(has=page.locator("a[href*='/runs/']")).first
        row.wait_for(state="visible", timeout=SHOWN_S * 1000)
        return time.perf_counter() - started
    finally:
        page.close()


def measure(browser, uri, folder, label):
    """Start the UI on the store at uri, time a cold and WARM_LOADS warm loads of the link that
    `make ui` prints, stop the UI."""
    port = free_port()
    proc, ready = start_ui(uri, port, folder / f"ui-{label}.log")
    try:
        link = runs_link(f"http://127.0.0.1:{port}", uri, EXPERIMENT)
        print(f"runs of '{EXPERIMENT}': {link}", file=sys.stderr, flush=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            cold = first_row_seconds(context, link)
            warm = [first_row_seconds(context, link) for _ in range(WARM_LOADS)]
        finally:
            context.close()
    finally:
        stop(proc, group=True)
    return {"runs": runs_in_experiment(uri, EXPERIMENT), "server_ready_s": ready,
            "cold_s": cold, "warm_s": warm, "warm_best_s": min(warm)}


def table(results):
    """The figures as one Markdown table, each beside the target."""
    rows = ["| measure | runs in experiment | seconds | target | met? |",
            "|---|---|---|---|---|"]
    stores = [(name, results[name]) for name in ("sweep", "crowded") if name in results]
    what = {"sweep": "the sweep alone", "crowded": "crowded"}
    for key, name in (("cold_s", "cold load (new browser context, server's first page)"),
                      ("warm_best_s", f"warm load (new page, best of {WARM_LOADS})")):
        for store, r in stores:
            ok = "met" if r[key] <= TARGET_S else "MISSED"
            rows.append(f"| {name}, {what[store]} | {r['runs']:,} | {r[key]:.2f} | "
                        f"≤ {TARGET_S:g} s | {ok} |")
    for store, r in stores:
        rows.append(f"| `make ui` start to /health, {what[store]} | {r['runs']:,} | "
                    f"{r['server_ready_s']:.1f} | — | |")
    return "\n".join(rows)


def main(argv=None):
    """Build the store, measure it alone and crowded, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None,
                        help="runs cloned into the experiment (default 10000; 200 with --quick)")
    parser.add_argument("--quick", action="store_true", help="200 cloned runs, for a smoke test")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    docs.add_argument(parser)
    args = parser.parse_args(argv)
    n = args.runs if args.runs is not None else (200 if args.quick else 10000)
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"no {CHROMIUM} (apt-get install chromium)")
    results = {"target_s": TARGET_S, "cloned_runs": n}
    with tempfile.TemporaryDirectory(prefix="netlab-bench-ui-") as tmp:
        folder = Path(tmp)
        print("running the sweep …", file=sys.stderr, flush=True)
        uri = small_store(folder)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                print("measuring the sweep's store …", file=sys.stderr, flush=True)
                results["sweep"] = measure(browser, uri, folder, "sweep")
                print(f"cloning {n:,} runs …", file=sys.stderr, flush=True)
                started = time.perf_counter()
                clone_runs(uri, EXPERIMENT, n)
                results["clone_s"] = time.perf_counter() - started
                print("measuring the crowded store …", file=sys.stderr, flush=True)
                results["crowded"] = measure(browser, uri, folder, "crowded")
            finally:
                browser.close()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.write_docs:
        settings = (f"the sweep `{' '.join(SWEEP)}`, then {n:,} cloned runs beside it; "
                    f"headless Chromium, {WARM_LOADS} warm loads.")
        docs.write_section("ui", docs.section(
            "The MLflow UI's first page of a study's runs", docs.command("benchmarks.ui", argv),
            settings, table(results)), args.write_docs)


if __name__ == "__main__":
    main()
