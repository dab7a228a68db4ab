"""The commands that read runs back (`python -m src.report`, `src.compare`, `src.reproduce`) on bad
input, through the real command line: each is one line, exit status 1, nothing created, within
seconds. A run's stored config.yaml is data: src.reproduce resolves nothing in it and checks it as
a command line's. The report and compare write only files that are new or their own, never through
a link.

One store (runs logged with chosen numbers, a trained run for src.reproduce) serves every case;
each case breaks its own copy or its own folder, and checks that nothing appeared beside it. The
bad-input cases take well under a second each (they fail before the heavy imports); those that
train, rerun or draw are marked slow. The report's kinds of bad input go through its main() in
process, three of them through the real command line as well.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest
from mlflow import MlflowClient

from netlab.paths import PROJECT_ROOT
from netlab.report.build import build
from netlab.report.output import MANIFEST
from tests.conftest import copy_store
from tests.logged_runs import log_numbers, new_sweep, train_and_log
from tests.servers import free_port, require

FINALS = {"val_accuracy": 0.8, "train_accuracy": 0.9, "test_accuracy": 0.75}
CURVE = {"val_accuracy": [0.5, 0.6, 0.7, 0.8], "train_loss": [0.7, 0.5, 0.4, 0.3]}


@pytest.fixture(scope="module")
def store(tmp_path_factory, empty_store):
    """A store with a sweep of 4 runs (2 activations × 2 seeds, no training) in experiment mini."""
    tmp = tmp_path_factory.mktemp("read_back")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client, parent = new_sweep(uri, "mini")
    ids = [log_numbers(uri, "mini", parent, {"activation": activation, "seed": seed,
                                             "dataset.name": "moons"}, FINALS, curve=CURVE)
           for activation in ("tanh", "relu") for seed in (0, 1)]
    client.set_terminated(parent)
    return uri, ids


def command(module, *args, env=None, timeout=150, wrap=()):
    """`python -m module *args` from the project root (after `wrap`, a command that runs it);
    returns (the process, seconds)."""
    started = time.monotonic()
    done = subprocess.run([*wrap, sys.executable, "-m", module, *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return done, time.monotonic() - started


def listing(*folders):
    """Every path under the folders, with its size (what a command must leave as it was)."""
    return {str(p): (p.lstat().st_size if not p.is_dir() else 0)
            for folder in folders for p in sorted(folder.rglob("*"))}


def assert_one_line(done, prefix, *says):
    """Exit status 1, nothing on stdout, one line on stderr that starts with prefix and says…"""
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith(prefix) and "Traceback" not in done.stderr, done.stderr
    for text in says:
        assert text in done.stderr, done.stderr


# ------------------------------------------------------------------ item 6: bad input, one line
def read_only(folder):
    """A command prefix that runs a command with `folder` mounted read-only (a mount namespace
    of its own: the folder stays writable for everyone else)."""
    require(shutil.which("unshare") and subprocess.run(
        ["unshare", "-m", "mount", "--bind", "-o", "ro", str(folder), str(folder)],
        capture_output=True).returncode == 0, "cannot mount a folder read-only (unshare -m)")
    return ("unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder))


def _broken(kind, tmp, uri):
    """(--tracking-uri, extra args, what the line says, a command prefix) for one kind of bad
    input."""
    found = _broken_store(kind, tmp, uri)
    return (*found, ()) if len(found) == 3 else found


def _broken_store(kind, tmp, uri):
    db = uri[len("sqlite:///"):]
    if kind == "read-only":
        (tmp / "ro").mkdir()
        copy_store(db, tmp / "ro" / "mlflow.db")
        return (f"sqlite:///{tmp / 'ro' / 'mlflow.db'}", [], "folder is read-only",
                read_only(tmp / "ro"))
    if kind == "sweep":
        return uri, ["--sweep", "zzzz"], "--sweep 'zzzz'"
    if kind == "out is a file":
        (tmp / "afile").write_text("mine")
        return uri, ["--out", str(tmp / "afile")], "is not a folder"
    if kind == "scheme":
        return "bogus://x", [], "no tracking store answers the scheme"
    if kind == "typo":
        return f"sqlite:///{tmp / 'none2' / 'typo.db'}", [], "no tracking store at"
    if kind == "garbage":
        (tmp / "garbage.db").write_bytes(os.urandom(100_000))
        return f"sqlite:///{tmp / 'garbage.db'}", [], "file is not a database"
    if kind == "truncated":
        # a copy, cut short: the shared store's file is opened by SQLite alone in this process
        # (closing another descriptor of it drops the process's locks on it: disk I/O errors)
        copy_store(db, tmp / "truncated.db")
        os.truncate(tmp / "truncated.db", 5000)
        return f"sqlite:///{tmp / 'truncated.db'}", [], "malformed"
    if kind == "empty file":
        (tmp / "empty.db").write_bytes(b"")
        return f"sqlite:///{tmp / 'empty.db'}", [], "not an MLflow tracking store"
    if kind == "half-built":
        copy_store(db, tmp / "half.db")
        with closing(sqlite3.connect(tmp / "half.db")) as connection:
            connection.execute("DROP TABLE mcp_servers")
        return f"sqlite:///{tmp / 'half.db'}", [], "is incomplete"
    if kind == "dpi 0":
        return uri, ["--dpi", "0"], "--dpi must be between"
    if kind == "dpi 100000":
        return uri, ["--dpi", "100000"], "--dpi must be between"
    if kind == "no server":
        return f"http://127.0.0.1:{free_port()}", [], "is unreachable"
    raise AssertionError(kind)


KINDS = ["sweep", "out is a file", "scheme", "typo", "garbage", "truncated", "empty file",
         "half-built", "read-only", "dpi 0", "dpi 100000", "no server"]
# compare reaches the same checks (store, folder, dpi): one case of each
COMPARE_KINDS = ["out is a file", "scheme", "typo", "garbage", "dpi 100000", "no server"]


# through the real command line: a mount namespace of its own, a server's time bound, and one
# plain case; the other kinds through the command's main() in this process (the same code once
# the interpreter has started; what is imported before a refusal is checked at the end of this file)
REPORT_CLI_KINDS = {"read-only", "no server", "garbage"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(REPORT_CLI_KINDS))
def test_the_report_says_what_is_wrong_in_one_line_and_creates_nothing(store, tmp_path, kind):
    uri, _ = store
    tracking_uri, extra, says, wrap = _broken(kind, tmp_path, uri)
    before = listing(tmp_path)
    out = [] if "--out" in extra else ["--out", str(tmp_path / "out")]
    done, seconds = command("src.report", "mini", "--tracking-uri", tracking_uri, *out, *extra,
                            wrap=wrap)
    assert_one_line(done, "report: ", says)
    # an unreachable server is not retried for minutes (MLflow's default retries take > 2 min);
    # the bound leaves room for a command's start-up on a loaded machine (~20 s seen)
    assert seconds < 90
    assert listing(tmp_path) == before  # nothing created, nothing changed


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in REPORT_CLI_KINDS])
def test_the_report_refuses_each_kind_of_bad_input_in_one_line_in_process(
        store, tmp_path, kind, capsys):
    """The same checks as above, each kind of bad input, through `main(argv)`: SystemExit with
    one line (what Python prints on stderr, exit status 1), nothing printed, nothing created."""
    from netlab.report.__main__ import main

    uri, _ = store
    tracking_uri, extra, says, wrap = _broken(kind, tmp_path, uri)
    assert wrap == ()
    before = listing(tmp_path)
    out = [] if "--out" in extra else ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as refused:
        main(["mini", "--tracking-uri", tracking_uri, *out, *extra])
    message = refused.value.code
    assert isinstance(message, str) and "\n" not in message, message
    assert message.startswith("report: ") and says in message, message
    assert capsys.readouterr().out == ""
    assert listing(tmp_path) == before


@pytest.mark.parametrize("kind", COMPARE_KINDS)
def test_compare_says_what_is_wrong_in_one_line_and_creates_nothing(store, tmp_path, kind):
    uri, ids = store
    tracking_uri, extra, says, wrap = _broken(kind, tmp_path, uri)
    before = listing(tmp_path)
    out = [] if "--out" in extra else ["--out", str(tmp_path / "out")]
    done, seconds = command("src.compare", ids[0], ids[1], "--tracking-uri", tracking_uri,
                            *out, *extra, wrap=wrap)
    assert_one_line(done, "compare: ", says)
    assert seconds < 90  # as above
    assert listing(tmp_path) == before


@pytest.mark.slow  # trains a run, then reruns it through Hydra
def test_reproduce_of_a_moved_csv_or_a_mistyped_store_is_one_line(store, tmp_path):
    uri, _ = store
    table = tmp_path / "leaves.csv"
    shutil.copy(PROJECT_ROOT / "examples" / "leaves.csv", table)
    run_id = train_and_log(uri, "own_data", None, ["dataset=csv", f"dataset.path={table}",
                                                   "dataset.label=tree", "epochs=5"])
    table.rename(tmp_path / "moved.csv")
    n_runs = len(all_runs(uri))
    done, _ = command("src.reproduce", run_id[:8], "--tracking-uri", uri)
    assert_one_line(done, "reproduce: ", f"run {run_id}", "dataset.path=", "no such file")
    assert len(all_runs(uri)) == n_runs  # no run created
    before = listing(tmp_path)
    done, _ = command("src.reproduce", run_id[:8], "--tracking-uri",
                      f"sqlite:///{tmp_path / 'none2' / 'typo.db'}")
    assert_one_line(done, "reproduce: ", "no tracking store at")
    assert listing(tmp_path) == before


# ------------------------------------------------------------------ item 7: a stored config is data
def all_runs(uri):
    """Every run of every experiment in the store."""
    client = MlflowClient(uri)
    return client.search_runs([e.experiment_id for e in client.search_experiments()],
                              max_results=10000)


@pytest.fixture(scope="module")
def stored(store, tmp_path_factory):
    """A trained run whose config.yaml each case replaces: (uri, run id, the config as stored)."""
    uri, _ = store
    run_id = train_and_log(uri, "hostile", None, ["epochs=5", "dataset.n_samples=80"])
    path = MlflowClient(uri).download_artifacts(run_id, "config.yaml",
                                                str(tmp_path_factory.mktemp("stored")))
    return uri, run_id, open(path).read()


SECRET = "s3cr3t-token-4af1"
HOSTILE = {  # the stored config.yaml's line replaced -> what the one line must name
    "interpolation": (("init: xavier", "init: ${oc.env:NETLAB_SECRET}"), "init"),
    "interpolation in a key": (("width: 8", "${oc.env:NETLAB_SECRET}: 8"), "interpolation"),
    "a bad value": (("width: 8", "width: -3"), "width=-3"),
    "an unknown key": (("width: 8", "width: 8\nwidht: 3"), "widht"),
    "an override in a group name": (("name: moons", "name: moons,xor"), "dataset.name"),
}


@pytest.mark.slow  # trains a run, then reruns it through Hydra
@pytest.mark.parametrize("case", list(HOSTILE))
def test_reproduce_refuses_a_stored_config_it_would_not_take_on_the_command_line(
        stored, tmp_path, case, capsys, monkeypatch):
    """Each hostile config.yaml is one line naming what is wrong, the secret nowhere, nothing
    trained or logged: the first case through the real command line, the others through
    `main(argv)` in this process (the same code once the interpreter has started)."""
    uri, run_id, original = stored
    client = MlflowClient(uri)
    (old, new), names = HOSTILE[case]
    assert old in original
    hostile = tmp_path / "hostile" / "config.yaml"
    hostile.parent.mkdir()
    hostile.write_text(original.replace(old, new, 1))
    client.log_artifact(run_id, str(hostile))  # the run's config.yaml, replaced
    n_runs = len(all_runs(uri))
    if case == next(iter(HOSTILE)):
        done, _ = command("src.reproduce", run_id, "--tracking-uri", uri,
                          env={"NETLAB_SECRET": SECRET})
        assert done.returncode == 1, done.stdout + done.stderr[-2000:]
        lines = (done.stdout + done.stderr).strip().splitlines()
    else:
        from netlab.reproduce import main

        monkeypatch.setenv("NETLAB_SECRET", SECRET)
        assert main([run_id, "--tracking-uri", uri]) == 1  # the exit status
        printed = capsys.readouterr()
        lines = (printed.out + printed.err).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"reproduce: run {run_id}"), lines
    assert names in lines[0] and SECRET not in lines[0]
    runs = all_runs(uri)
    assert len(runs) == n_runs  # nothing trained, nothing logged
    for run in runs:
        assert not any(SECRET in str(v) for v in (*run.data.params.values(),
                                                  *run.data.tags.values()))


# ------------------------------------------------------------------ item 5: only files of our own
def report(uri, out, *extra):
    """`python -m src.report mini --out out --no-log` (no log: the cases share one store)."""
    return command("src.report", "mini", "--tracking-uri", uri, "--out", str(out), "--no-log",
                   *extra, timeout=300)[0]


def state(folder):
    """{path: (where it links to, its bytes)} of everything under folder."""
    return {str(p): (os.readlink(p) if p.is_symlink() else None,
                     p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _users_files(out):
    """A folder of the user's own files that share names with a report's."""
    out.mkdir()
    for name in ("report.md", "heatmap.png", "learning_curves.png"):
        (out / name).write_text(f"the user's own {name}")


def _linked(out):
    """A folder whose report.md is a link to a file of the user's elsewhere."""
    out.mkdir()
    (out.parent / "victim.txt").write_text("the user's own file")
    (out / "report.md").symlink_to(out.parent / "victim.txt")


def _edited_after(out, uri):
    """A report's folder whose report.md the user edited after the report wrote it."""
    build("mini", uri, out=out, log=False)  # in process: the command is what is tested next
    with open(out / "report.md", "a") as page:
        page.write("\nthe user's notes\n")


def _linked_manifest(out, uri):
    """A report's folder whose manifest was replaced by a link."""
    build("mini", uri, out=out, log=False)
    (out.parent / "victim.txt").write_text("the user's own file")
    (out / MANIFEST).unlink()
    (out / MANIFEST).symlink_to(out.parent / "victim.txt")


FOLDERS = {"the user's own files": (_users_files, "report.md"),
           "a link": (_linked, "report.md"),
           "a report file edited since": (_edited_after, "report.md"),
           "a linked manifest": (_linked_manifest, MANIFEST)}


@pytest.mark.slow  # draws reports
@pytest.mark.parametrize("case", list(FOLDERS))
def test_the_report_writes_only_new_files_or_its_own_and_never_through_a_link(store, tmp_path,
                                                                              case):
    uri, _ = store
    out = tmp_path / "out"
    make, name = FOLDERS[case]
    make(out) if make in (_users_files, _linked) else make(out, uri)
    before = state(tmp_path)
    done = report(uri, out)
    assert_one_line(done, "report: ", str(out / name))
    assert state(tmp_path) == before  # every file as it was (a link's target too), none added


@pytest.mark.slow  # draws reports
def test_a_report_replaces_what_its_manifest_lists_and_compare_never_writes_through_a_link(
        store, tmp_path):
    uri, ids = store
    out = tmp_path / "out"
    assert report(uri, out).returncode == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest["sha256"]) == set(manifest["files"]) and "report.md" in manifest["files"]
    (out / "notes.txt").write_text("mine")
    again = report(uri, out, "--format", "svg")  # its own files replaced or removed, not mine
    assert again.returncode == 0, again.stderr[-2000:]
    assert not any(out.glob("*.png")) and (out / "report.md").is_file()
    assert (out / "notes.txt").read_text() == "mine"
    page = tmp_path / "page"
    page.mkdir()
    (tmp_path / "victim.txt").write_text("the user's own file")
    (page / "compare.md").symlink_to(tmp_path / "victim.txt")
    done, _ = command("src.compare", ids[0], ids[1], "--tracking-uri", uri, "--out", str(page),
                      timeout=300)
    assert_one_line(done, "compare: ", str(page / "compare.md"))
    assert (tmp_path / "victim.txt").read_text() == "the user's own file"
    assert sorted(p.name for p in page.iterdir()) == ["compare.md"]


# ------------------------------------------------------------ issue 21 item 9: parse args first
@pytest.mark.parametrize("module, args", [("src.report", ["--no-such-option"]),
                                          ("src.report", ["mini", "--dpi", "0"]),
                                          ("src.compare", ["--no-such-option"]),
                                          ("src.reproduce", ["--no-such-option"])])
def test_a_bad_argument_is_refused_before_mlflow_or_scikit_learn_is_imported(module, args):
    """A bad argument is refused by the command line's parser, before the imports that took
    3.4–5.4 s (MLflow, scikit-learn): Python's own import log shows neither was imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", module, *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode in (1, 2), done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "argparse" in imported or "netlab" in imported, done.stderr[-2000:]
    assert not imported & {"mlflow", "sklearn"}, sorted(imported & {"mlflow", "sklearn"})
    said = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert said and ("error:" in said[-1] or "--dpi" in said[-1]), said
