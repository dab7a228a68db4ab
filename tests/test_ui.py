"""The MLflow UI served by `make ui`, opened in headless Chromium (Debian's, driven by Playwright):
it lists a sweep's parent run and, expanded, its child runs, at the link `make ui` prints."""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from tests.servers import free_port, http_ok, wait_until
from tests.test_tracking import ROOT, require

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_make_ui_lists_the_sweep_runs(tmp_path):
    require(os.path.exists(CHROMIUM), f"no {CHROMIUM} (apt-get install chromium)")
    require(shutil.which("make"), "no make")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright, "Playwright's Python package is missing (pip install -e '.[test]')")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sweep = subprocess.run(
        [sys.executable, "-m", "src.run", "-m", "activation=tanh,relu", "epochs=20",
         "mlflow.experiment=activations", "hydra.sweep.dir=m"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert sweep.returncode == 0, sweep.stderr[-3000:]

    port = free_port()
    ui = subprocess.Popen(["make", "-s", "ui", f"PORT={port}"], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        link = None
        for line in ui.stdout:  # make ui prints the runs-table link before the server starts
            found = re.search(r"runs of 'activations': (http://127\.0\.0\.1:\d+/#/experiments/\d+/runs)",
                              line)
            if found:
                link = found.group(1)
                break
        assert link, "make ui printed no link to the runs table"
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 180, "make ui", ui)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(link)
            parent = page.get_by_role("row").filter(has_text="activations").first
            parent.wait_for(timeout=60_000)
            parent.locator("button[data-component-id*='runnamecellrenderer']").click()  # expand
            for name in ("activation=tanh epochs=20", "activation=relu epochs=20"):  # the children
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            page.get_by_text("3 matching runs").wait_for(timeout=10_000)
            page.screenshot(path=tmp_path / "runs.png")
            browser.close()
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
