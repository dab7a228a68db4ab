"""The MLflow UI served by `make ui`, opened in headless Chromium (Debian's, driven by Playwright),
checked by what is on its pages, at the link `make ui` prints:

- the runs table lists a sweep's parent run and, expanded, its child runs by their short names;
- the experiment's description (its `mlflow.note.content` tag) unfolds above the table, with
  "How to read the runs";
- Group by `activation` puts each child in a group of its own, and the Chart view plots
  `val_accuracy` per group;
- the parent run's page shows its params (`sweep.activation` = `tanh,relu`) and its note (the
  run's description): the summary table, a row per configuration;
- a child run's `decision_boundary` images (log_image with steps) show on its Model metrics tab
  with their step slider, and at each step the slider moves to, the card shows that step's image
  (its bytes compared with the run's file, whatever URL the UI gives it).

Screenshots go to the test's tmp_path; with NETLAB_SCREENSHOTS=1 the runs table, the parent run
and the chart view are also copied to docs/mlflow-{runs,parent,chart}.png.

Then what reaches `make ui`'s shell: a STUDY or STORE holding a shell command is a name, not a
command; an exported HOST does not change where the server listens, HOST= on make's command line
does, and says so in one line.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    expect = sync_playwright = None

from tests.servers import free_port, group_processes, http_ok, require, wait_until
from tests.test_tracking import ROOT

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# MLflow 3's UI opens its assistant panel over the right third of the page on a first visit; these
# are the localStorage keys it remembers that by (if they change, the panel is closed by its button)
NO_ASSISTANT = ("localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
                "localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');")
# what the decision_boundary card shows: the slider's step and the SHA-256 of each image loaded in
# it, read back from the page whatever its URL (MLflow 3.17 links the file, 3.18 a blob: copy)
SHOWN = """async slider => {
    const images = [...document.querySelectorAll("[data-testid=experiment-view-compare-runs-card]")]
        .filter(card => card.querySelector("h4")?.textContent === "decision_boundary")
        .flatMap(card => [...card.querySelectorAll("img")])
        .filter(img => img.complete && img.naturalWidth > 0);
    const shown = [];
    for (const img of images) {
        const bytes = await (await fetch(img.src)).arrayBuffer();
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        shown.push([...digest].map(b => b.toString(16).padStart(2, "0")).join(""));
    }
    return {step: slider.getAttribute("aria-valuenow"), shown,
            srcs: images.map(img => img.src.slice(0, 160))};
}"""
SHOWN_IN = 15_000  # ms for what a click unfolds to come into view
# ms for a step's image to be fetched from the server and shown: 10 s was once too short in a
# fresh clone's `make test`, the fault tests loading both cores beside it
IMAGE_IN = 30_000
DOCS = {"runs.png": "mlflow-runs.png", "parent.png": "mlflow-parent.png",
        "chart.png": "mlflow-chart.png"}


def _close_assistant(page):
    close = page.locator("button[data-component-id='mlflow.assistant.chat_panel.close']")
    if close.is_visible():
        close.click()


def _screenshot(page, path):
    """Screenshot without a hovered row or a focus ring: the pointer rests on the sidebar's
    empty part, nothing has the focus."""
    page.mouse.move(100, 760)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=path)


def _check_runs_table(page, link, shots):
    """The parent run, expanded: its children by their swept values; the experiment's
    description. Returns the hrefs of the parent run and of the `tanh` child."""
    page.goto(link)
    parent = page.get_by_role("row").filter(has_text="activations").first
    parent.wait_for(timeout=60_000)
    _close_assistant(page)
    parent.locator("button[data-component-id*='runnamecellrenderer']").click()  # expand
    for name in ("tanh", "relu"):  # the children, named by their swept values
        page.get_by_role("link", name=name, exact=True).wait_for()
    page.get_by_text("3 matching runs").wait_for(timeout=10_000)
    _screenshot(page, shots / "runs.png")
    parent_href = parent.get_by_role("link").filter(has_text="activations").first.get_attribute(
        "href")
    child_href = page.get_by_role("link", name="tanh", exact=True).get_attribute("href")

    # the experiment's description: its first line above the table, the rest behind the chevron
    # (in the page, yet clipped: in the viewport only once unfolded)
    how = page.get_by_text("How to read the runs", exact=False)
    editor = "button[data-component-id='mlflow.experiment.metadata_editor.{}_button']"
    page.locator(editor.format("expand")).click()
    expect(how).to_be_in_viewport(timeout=SHOWN_IN)
    expect(page.get_by_text("Group the table by", exact=False)).to_be_in_viewport(timeout=SHOWN_IN)
    page.locator(editor.format("collapse")).click()
    expect(how).not_to_be_in_viewport(timeout=SHOWN_IN)
    return parent_href, child_href


def _check_group_by_and_chart(page, shots):
    """Group by the `activation` param (the children's; the parent only has `sweep.activation`
    and lands in "Additional runs"), then the Chart view of val_accuracy, a line per group."""
    page.get_by_role("button", name="Group by").click()
    page.get_by_placeholder("Search").last.fill("activation")
    # the menu lists attributes, then tags, then params (the section whose items end in _330)
    page.locator("[role=menuitemcheckbox][data-component-id$='groupbyselector.tsx_330']"
                 ).filter(has_text=re.compile(r"^activation$")).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Group by: activation").wait_for()
    for name in ("tanh", "relu"):
        page.get_by_text(f"Group: {name}", exact=True).wait_for()
    page.get_by_role("row").filter(has_text="Additional runs").wait_for()  # the parent

    page.locator("label", has=page.locator("input[value=CHART]")).click()  # the Chart view
    # the chart search is a regular expression (MLflow 3): val_accuracy alone, not best_val_…
    page.get_by_placeholder("Search metric charts").fill("^val_accuracy$")
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name="val_accuracy", exact=True))
    for name in ("tanh", "relu"):  # the legend: one trace per group
        card.get_by_text(f"{name} (val_accuracy)", exact=True).wait_for()
    _screenshot(page, shots / "chart.png")


def _check_parent_run(page, url, shots):
    """The sweep run's page: its params (the grid as sweep.*) and its note, the summary table."""
    page.goto(url)
    param = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name="sweep.activation", exact=True))
    param.get_by_role("cell", name="tanh,relu", exact=True).wait_for()
    page.get_by_text("Description", exact=True).wait_for()
    note = page.get_by_role("table").filter(
        has=page.get_by_role("columnheader", name="configuration", exact=True))
    note.wait_for()
    for name in ("tanh", "relu"):  # a row per configuration
        note.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True)
                                       ).wait_for()
    page.get_by_text("Show more", exact=True).click()  # the whole note
    last_line = page.get_by_text("95 % confidence interval", exact=False)
    expect(last_line).to_be_in_viewport(timeout=SHOWN_IN)
    # the screenshot shows the note and the params: only the accuracy among the metrics
    page.get_by_placeholder("Search metrics").fill("accuracy")
    page.get_by_role("cell", name="best_val_accuracy", exact=True).wait_for()
    page.get_by_text("Description", exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    expect(note).to_be_in_viewport(timeout=SHOWN_IN)
    expect(param).to_be_in_viewport(timeout=SHOWN_IN)
    _screenshot(page, shots / "parent.png")


def _step_images(uri, run_id):
    """{step: SHA-256 digests of its decision_boundary image files} of a run (the image and its
    compressed preview), downloaded through MLflow's public API."""
    import hashlib
    import pathlib

    import mlflow

    folder = pathlib.Path(mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="images", tracking_uri=uri))
    found = {}
    for path in folder.glob("decision_boundary+step+*"):
        step = path.name.split("+")[2]
        found.setdefault(step, set()).add(hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _check_images(page, url, shots, uri):
    """A child run's Model metrics tab: the decision_boundary images and their step slider,
    which steps through the logged steps (MLflow opens it on step 0; ours start at epoch 1);
    at each step the card shows that step's image, byte for byte."""
    files = _step_images(uri, url.rstrip("/").rsplit("/", 1)[-1])
    page.goto(url.rstrip("/") + "/model-metrics")
    page.get_by_placeholder("Search metric charts").fill("decision_boundary")
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name="decision_boundary", exact=True))
    slider = card.get_by_role("slider")
    slider.wait_for()
    last = int(slider.get_attribute("aria-valuemax"))
    assert last == 20, f"the slider ends at step {last}, not at the last epoch (20)"
    seen = []
    for _ in range(last + 1):  # ArrowRight moves to the next step that has an image
        if slider.get_attribute("aria-valuenow") == str(last):
            break
        before = slider.get_attribute("aria-valuenow")
        slider.press("ArrowRight")
        page.wait_for_function("([s, v]) => s.getAttribute('aria-valuenow') !== v",
                               arg=[slider.element_handle(), before], timeout=IMAGE_IN)
        # the card shows the image of the step the slider is on (read anew each time: the page
        # may re-render the slider while its data refresh), loaded
        deadline, now = time.monotonic() + IMAGE_IN / 1000, None
        while time.monotonic() < deadline:
            now = page.evaluate(SHOWN, slider.element_handle())
            if files.get(now["step"], set()) & set(now["shown"]):
                break
            time.sleep(0.25)
        else:
            raise AssertionError(f"the card does not show step {now['step']}'s image within "
                                 f"{IMAGE_IN / 1000:.0f} s; steps shown so far {seen}; it holds "
                                 f"{now['srcs']}; the run's images are of steps "
                                 f"{sorted(files, key=int)}")
        seen.append(int(now["step"]))
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == last, seen
    _screenshot(page, shots / "images.png")


def test_make_ui_shows_the_sweep(tmp_path, tracking_uri):
    require(os.path.exists(CHROMIUM), f"no {CHROMIUM} (apt-get install chromium)")
    require(shutil.which("make"), "no make")
    require(sync_playwright, "Playwright's Python package is missing (pip install -e '.[test]')")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sweep = subprocess.run(
        [sys.executable, "-m", "src.run", "-m", "activation=tanh,relu", "epochs=20",
         "mlflow.experiment=activations", "hydra.sweep.dir=m"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    shots = tmp_path / "shots"
    shots.mkdir()

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
        # the server's log is read to the end: a full pipe nobody reads (64 KB) stops the server
        logged = []
        threading.Thread(target=lambda: logged.extend(ui.stdout), daemon=True).start()
        base = link.split("/#/")[0]
        wait_until(lambda: http_ok(f"{base}/health"), 180, "make ui", ui)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(NO_ASSISTANT)
                context.set_default_timeout(30_000)
                page = context.new_page()
                parent_href, child_href = _check_runs_table(page, link, shots)
                _check_group_by_and_chart(page, shots)
                _check_parent_run(page, f"{base}/{parent_href.lstrip('/')}", shots)
                _check_images(page, f"{base}/{child_href.lstrip('/')}", shots, tracking_uri)
            except Exception as error:  # the server's last words tell its fault from the page's
                error.add_note("make ui's last lines:\n" + "".join(logged[-30:]))
                raise
            finally:
                browser.close()
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()

    if os.environ.get("NETLAB_SCREENSHOTS") == "1":
        for shot, doc in DOCS.items():
            shutil.copyfile(shots / shot, ROOT / "docs" / doc)


# ------------------------------------------------------------------ what reaches make ui's shell
def make_ui(*args, env=None):
    """`make -s ui *args` in a process group of its own, its output (stdout and stderr) read by a
    thread into a list: (process, lines)."""
    ui = subprocess.Popen(["make", "-s", "ui", *args], cwd=ROOT, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(ui.stdout), daemon=True).start()
    return ui, lines


def stop(ui):
    """End make ui's process group (the server with it)."""
    try:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(ui.pid, signal.SIGKILL)
        ui.wait()


def wait_for(ui, lines, pattern, timeout=60):
    """The first line matching pattern, once printed (None if make ui ended or timed out first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((line for line in lines if re.search(pattern, line)), None)
        if found or ui.poll() is not None:
            time.sleep(0.2)  # what the thread has not appended yet
            return found or next((line for line in lines if re.search(pattern, line)), None)
        time.sleep(0.1)
    return None


def server_command(group, timeout=60):
    """The command line (a list) of the MLflow server make ui started in process group `group`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, words in group_processes(group):
            if "ui" in words and "--host" in words:
                return words
        time.sleep(0.2)
    return None


def test_make_ui_passes_study_and_store_as_values_never_as_shell_commands(tmp_path):
    require(shutil.which("make"), "no make")
    pwned = tmp_path / "pwned"
    study = f"--x; touch {pwned}; false $(shell touch {pwned}-make)"  # the shell's and make's
    store = f"sqlite:///{tmp_path / 'ui.db'}; touch {pwned}-store"
    ui, lines = make_ui(f"PORT={free_port()}", f"STUDY={study}", f"STORE={store}")
    try:
        said = wait_for(ui, lines, r"no experiment|runs of")
    finally:
        stop(ui)
    assert said is not None and f"'{study}'" in said, "".join(lines)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("pwned")) == []


@pytest.mark.usefixtures("tracking_uri")
def test_make_ui_listens_beyond_loopback_only_when_its_command_line_says_so():
    require(shutil.which("make"), "no make")
    port = free_port()
    ui, lines = make_ui(f"PORT={port}", env={"HOST": "0.0.0.0"})  # an exported HOST: ignored
    try:
        said = wait_for(ui, lines, r"MLflow UI")
        command = server_command(ui.pid)
    finally:
        stop(ui)
    assert said is not None and f"at http://127.0.0.1:{port}" in said, "".join(lines)
    assert command and command[command.index("--host") + 1] == "127.0.0.1", command
    assert not any("beyond" in line for line in lines), "".join(lines)

    ui, lines = make_ui(f"PORT={port}", "HOST=0.0.0.0")  # on make's command line: it listens
    try:
        warned = wait_for(ui, lines, r"beyond")
        command = server_command(ui.pid)
    finally:
        stop(ui)
    assert warned is not None and "0.0.0.0" in warned, "".join(lines)
    assert sum("beyond" in line for line in lines) == 1
    assert command and command[command.index("--host") + 1] == "0.0.0.0", command
