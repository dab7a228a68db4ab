"""A new SQLite store under real faults (issue 22, items 1 and 8): commands started together on a
store that does not exist yet, `kill -9` and Ctrl-C at random moments while it is being created, a
store an older version left half-built, experiment names that are not folder names.

Creating a store runs MLflow's schema migrations (seconds). Each trial ends the same way: the next
command works, no half-built database is left (the store's tables and schema version are those of a
store built without interruption), no temporary file of the creation is left, nothing is written
in the directory a command ran in, and no traceback reaches the terminal.
"""

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from mlflow import MlflowClient

from netlab.tracking.store import open_store
from tests.conftest import trials_rng
from tests.sweeps import (
    QUICK,
    ROOT,
    Sweep,
    assert_complete,
    integrity_check,
    lines,
    runs_of,
)


def schema(db):
    """(the tables, the schema version) of a SQLite store: what tells a half-built one."""
    assert db.exists(), db  # (connecting would create it)
    with closing(sqlite3.connect(db)) as connection:
        tables = sorted(name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
        version = connection.execute("SELECT * FROM alembic_version").fetchall() \
            if "alembic_version" in tables else None
    return tables, version


def run_once(cwd, uri, *args, timeout=120):
    """`python -m src.run` (a single run) in cwd on the store at uri: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": uri}
    env.pop("HYDRA_FULL_ERROR", None)
    done = subprocess.run([sys.executable, "-m", "src.run", *QUICK, "hydra.run.dir=o", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def assert_sound(db, template):
    """The store at db is whole: the tables and schema version of a store built in one go, no
    leftover of a creation beside it, SQLite's integrity check ok."""
    assert schema(db) == schema(template)
    assert integrity_check(db) == [("ok",)]
    leftovers = [p.name for p in db.parent.iterdir() if ".new-" in p.name]
    assert not leftovers, leftovers


def no_traceback(*texts):
    for text in texts:
        assert "Traceback" not in text, text


def wait_for_a_file(folder, proc, timeout=60):
    """Wait until the command has made a file in the store's folder: its creation has begun."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir() and any(folder.iterdir()):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    pytest.fail(f"no file in {folder} within {timeout} s")


def whole(db, template):
    """Whether the store at db is whole now (False while it is being built)."""
    try:
        return db.exists() and schema(db) == schema(template)
    except sqlite3.Error:
        return False


@pytest.fixture(scope="module")
def creation_seconds(tmp_path_factory, empty_store):
    """How long a command takes to create a new store on this machine now, from the first file
    it makes in the store's folder to the store being whole: the window faults are aimed at."""
    base = tmp_path_factory.mktemp("timed")
    db = base / "store" / "mlflow.db"
    with Sweep(["seed=0", *QUICK, "mlflow.experiment=timed", "hydra.sweep.dir=m"], base,
               MLFLOW_TRACKING_URI=f"sqlite:///{db}") as command:
        wait_for_a_file(db.parent, command.proc)
        t0 = time.perf_counter()
        while not whole(db, empty_store):
            assert command.running(), command.stderr
            time.sleep(0.01)
        seconds = time.perf_counter() - t0
        assert command.wait(120) == 0, command.stderr
    return seconds


# ---------------------------------------------------------------- commands started together
TOGETHER_TRIALS = 2


@pytest.mark.slow
def test_commands_started_together_on_a_new_store_all_work(tmp_path, empty_store):
    """Two sweeps and `make ui`'s first step started at once on a store that does not exist: every
    command works, the one configuration has one FINISHED run, the store is whole, and nothing is
    written where the commands ran (a race once wrote a run's files into ./netlab/)."""
    outcomes = []
    for trial in range(TOGETHER_TRIALS):
        base = tmp_path / f"trial{trial}"
        db = base / "store" / "mlflow.db"
        uri = f"sqlite:///{db}"
        cwds = [base / name for name in ("a", "b", "ui")]
        for cwd in cwds:
            cwd.mkdir(parents=True)
        args = ["seed=0", *QUICK, "mlflow.experiment=together", "hydra.sweep.dir=m"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": uri}
        with Sweep(args, cwds[0], MLFLOW_TRACKING_URI=uri) as a, \
                Sweep(args, cwds[1], MLFLOW_TRACKING_URI=uri) as b:
            ui = subprocess.run([sys.executable, "-m", "netlab.tracking.ui", "--port", "1",
                                 "--experiment", "together"], cwd=cwds[2], env=env,
                                capture_output=True, text=True, timeout=120)
            codes = a.wait(180), b.wait(180)
        outcomes.append((codes, ui.returncode))
        assert codes == (0, 0) and ui.returncode == 0, \
            f"trial {trial}: {outcomes}\n{a.stderr}\n{b.stderr}\n{ui.stderr}"
        no_traceback(a.stdout, a.stderr, b.stdout, b.stderr, ui.stdout, ui.stderr)
        assert_complete(uri, "together", 1)
        assert_sound(db, empty_store)
        for cwd in cwds:
            assert sorted(p.name for p in cwd.iterdir() if not p.name.startswith("sweep-")) \
                in ([], ["m"]), f"trial {trial}: written in {cwd}: {list(cwd.iterdir())}"


# ---------------------------------------------------------------- a creation interrupted
KILL_TRIALS, CTRL_C_TRIALS = 3, 2


@pytest.mark.slow
@pytest.mark.parametrize("signum, trials", [(signal.SIGKILL, KILL_TRIALS),
                                            (signal.SIGINT, CTRL_C_TRIALS)],
                         ids=["kill-9", "ctrl-c"])
def test_a_creation_interrupted_at_a_random_moment_leaves_nothing_half_built(
        tmp_path, empty_store, creation_seconds, signum, trials):
    """A command creating a new store gets kill -9 (or Ctrl-C, to its process group as a terminal
    sends it) at a random moment of the creation: the next open of that store (in the last trial,
    the next command) works and the store is whole; after Ctrl-C the command said so in one line
    and left no temporary file."""
    rng = trials_rng(f"creation {signal.Signals(signum).name}")
    seen = []
    for trial in range(trials):
        base = tmp_path / f"trial{trial}"
        base.mkdir()
        db = base / "store" / "mlflow.db"
        uri = f"sqlite:///{db}"
        with Sweep(["seed=0", *QUICK, "mlflow.experiment=cut", "hydra.sweep.dir=m"], base,
                   MLFLOW_TRACKING_URI=uri) as victim:
            started = wait_for_a_file(db.parent, victim.proc)
            delay = rng.uniform(0, 0.9 * creation_seconds)
            time.sleep(delay)
            during = not whole(db, empty_store)
            victim.signal_group(signum)
            code = victim.wait(120)
        seen.append((round(delay, 2), during, code))
        assert started, victim.stderr
        no_traceback(victim.stdout, victim.stderr)
        if signum == signal.SIGINT and during:
            assert code == 130 and lines(victim.stderr) == ["interrupted by Ctrl-C"], \
                victim.stderr
            assert not [p for p in db.parent.iterdir() if ".new-" in p.name]
        if trial < trials - 1:  # the next open of the store, as every command starts
            open_store(uri)
        else:  # and once the next command, whole
            code, out, err = run_once(base, uri, "mlflow.experiment=cut")
            assert code == 0, f"trial {trial} (delay, status): {seen}\n{err}"
            no_traceback(out, err)
        assert_sound(db, empty_store)
        parents, children = runs_of("cut", uri)
        if signum == signal.SIGINT or trial == trials - 1:  # a kill -9 that lands once the run
            # has begun leaves it RUNNING until the next command (the last trial's) marks it
            assert [r.info.status for r in parents + children if r.info.status == "RUNNING"] == []
    print("(delay, during the creation, status) of the interrupted commands:", seen)
    assert sum(during for _, during, _ in seen) >= trials // 2, f"too few hit the creation: {seen}"


# ---------------------------------------------------------------- a store an older version left
# MLflow building a store in place (what open_store did), killed (SIGKILL, as a kill -9 or a
# scheduler does) right after a migration has created one of its temporary tables: the moment a
# real kill left stores MLflow cannot open ("table _alembic_tmp_… already exists"). The moment is
# chosen through SQLAlchemy's public event API, so one kill suffices instead of a loop of kills at
# random instants.
KILLED_MID_MIGRATION = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "after_cursor_execute")
def _kill(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("CREATE TABLE _ALEMBIC_TMP"):
        os.kill(os.getpid(), signal.SIGKILL)

from mlflow import MlflowClient
MlflowClient(sys.argv[1]).search_experiments()
"""


@pytest.fixture(scope="module")
def half_built(tmp_path_factory, empty_store):
    """A store an older version left half-built (built once; each test takes a copy)."""
    return build_in_place_killed_mid_migration(tmp_path_factory.mktemp("old"), empty_store)


def copy_of(db, folder):
    """A byte copy of the SQLite file db in folder (a new folder)."""
    folder.mkdir(parents=True)
    shutil.copyfile(db, folder / db.name)
    return folder / db.name


def build_in_place_killed_mid_migration(folder, empty_store):
    """A store half-built as an older netlab left one; its path. Fails unless MLflow itself then
    cannot open it (the fault the store's creation aside is for)."""
    db = folder / "mlflow.db"
    build = subprocess.run([sys.executable, "-c", KILLED_MID_MIGRATION, f"sqlite:///{db}"],
                           capture_output=True, text=True, timeout=120)
    assert build.returncode == -signal.SIGKILL, build.stderr
    assert schema(db) != schema(empty_store)
    probe = db.with_name("probe.db")  # MLflow would go on building the store it opens
    shutil.copyfile(db, probe)
    with pytest.raises(Exception):  # noqa: B017 - any failure: MLflow cannot open it
        MlflowClient(f"sqlite:///{probe}").search_experiments()
    return db


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_half_built_store_without_runs_is_set_aside_and_built_anew(tmp_path, empty_store,
                                                                      half_built):
    """The next command moves the half-built store aside (kept as it was, for a look), says so in
    one line, builds a whole one and runs."""
    db = copy_of(half_built, tmp_path / "old")
    before = digest(db)
    code, out, err = run_once(tmp_path, f"sqlite:///{db}", "mlflow.experiment=after")
    assert code == 0, err
    no_traceback(out, err)
    (aside,) = db.parent.glob("mlflow.db.broken-*")
    said = [line for line in lines(err) if str(aside) in line]
    assert len(said) == 1 and "half-built" in said[0] and "no runs" in said[0], err
    assert digest(aside) == before
    assert_sound(db, empty_store)
    (run,), _ = runs_of("after", f"sqlite:///{db}")
    assert run.info.status == "FINISHED"


@pytest.mark.slow
def test_a_half_built_store_with_runs_is_named_with_the_command_that_repairs_it(
        tmp_path, half_built):
    """A half-built store that holds a run is left as it is: the command fails in one line naming
    the store and the repair command; that command repairs it, the run is kept, and the next
    command works."""
    db = copy_of(half_built, tmp_path / "old")
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("INSERT INTO runs (run_uuid, name, source_type, source_name, "
                           "entry_point_name, user_id, status, start_time, source_version, "
                           "lifecycle_stage, artifact_uri, experiment_id) VALUES ('0123abcd', "
                           "'kept', 'LOCAL', '', '', 'me', 'FINISHED', 1, '', 'active', '', 0)")
    before = digest(db)
    uri = f"sqlite:///{db}"
    code, out, err = run_once(tmp_path, uri, "mlflow.experiment=after")
    assert code == 1, err
    no_traceback(out, err)
    last = lines(err)[-1]
    assert len(lines(err)) == 1 and str(db) in last and "1 run" in last, err
    assert digest(db) == before and not list(db.parent.glob("*.broken-*"))
    command = re.search(r"`([^`]+)`", last).group(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    repair = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert repair.returncode == 0, repair.stderr
    code, out, err = run_once(tmp_path, uri, "mlflow.experiment=after")
    assert code == 0, err
    assert MlflowClient(uri).get_run("0123abcd").info.run_name == "kept"
    assert integrity_check(db) == [("ok",)]


@pytest.mark.slow
def test_make_ui_creates_a_missing_store_whole(tmp_path, empty_store):
    """`make ui`'s first step creates a missing store as a sweep does, so MLflow's server never
    builds one in place."""
    db = tmp_path / "ui" / "mlflow.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
    done = subprocess.run([sys.executable, "-m", "netlab.tracking.ui", "--port", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_sound(db, empty_store)


# ---------------------------------------------------------------- experiment names (item 8)
@pytest.mark.slow
@pytest.mark.parametrize("name", [".", ".."])
def test_an_experiment_name_that_is_not_a_folder_fails_in_one_line_creating_nothing(
        tmp_path, name):
    """`mlflow.experiment='..'` once put run folders, models/ and a report outside the store: it
    fails in one line naming the key, before the store or anything else is created."""
    db = tmp_path / "store" / "mlflow.db"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    code, out, err = run_once(cwd, f"sqlite:///{db}", f"mlflow.experiment='{name}'")
    assert code == 1
    assert lines(err) == [lines(err)[0]] and lines(err)[0].startswith(
        f"config error: mlflow.experiment={name}:"), err
    assert not db.parent.exists() and list(cwd.iterdir()) == []


@pytest.mark.parametrize("name", [".", "..", "./..", " .. ", "", "   ", "a\nb", "a\x1bb"])
def test_a_name_that_is_no_folder_or_line_of_its_own_is_refused_by_validation(name):
    """What validation refuses, each in one line naming the key (the command above shows it is
    refused before anything is created)."""
    from netlab.config import ConfigError, validate
    from tests.test_tracking import config

    cfg = config("mlflow.experiment=x")
    cfg.mlflow.experiment = name
    with pytest.raises(ConfigError) as refused:
        validate(cfg)
    assert refused.value.key == "mlflow.experiment" and "\n" not in str(refused.value)


NAMES = ["ñ", "ü", "n-c-d", "ñ©đ", "n c d", "n/c/d", "N-C-D", "..x", "-n", "mlflow.db",
         "mlflow.db-wal", ".mlflow.db.new-host-1", "ñ" * 300, "n" * 300]


def test_distinct_experiment_names_get_distinct_folders_inside_the_store(tmp_path):
    """Every name (Unicode, spaces, slashes, leading dots, the store's own file names) gets a
    folder of its own, directly inside the store's folder, and a report folder inside reports/;
    a plain name keeps its name as folder."""
    from netlab.report.output import default_folder
    from netlab.tracking.store import artifact_location

    db = tmp_path / "mlflow.db"
    folders = [Path(url2pathname(urlparse(artifact_location(f"sqlite:///{db}", name)).path))
               for name in NAMES]
    assert len(set(folders)) == len(NAMES), dict(zip(NAMES, folders, strict=True))
    for folder in folders:
        assert folder.parent == tmp_path and len(folder.name.encode()) <= 255
        assert not folder.name.startswith((".", "-")), folder
        assert "+" in folder.name or not folder.name.startswith("mlflow.db"), folder
    assert folders[NAMES.index("n-c-d")].name == "n-c-d"
    reports = [default_folder(name) for name in NAMES]
    assert len(set(reports)) == len(NAMES)
    assert all(folder.parent == ROOT / "reports" for folder in reports), reports


@pytest.mark.slow
def test_two_unicode_experiments_keep_their_runs_apart(tmp_path):
    """Two experiments whose names differ only in letters outside ASCII: each run's files are in
    its own experiment's folder, inside the store."""
    db = tmp_path / "store" / "mlflow.db"
    uri = f"sqlite:///{db}"
    for name in ("ñ", "ü"):
        code, out, err = run_once(tmp_path, uri, f"mlflow.experiment='{name}'")
        assert code == 0, err
    client = MlflowClient(uri)
    homes = set()
    for name in ("ñ", "ü"):
        (run,), _ = runs_of(name, uri)
        home = Path(url2pathname(urlparse(run.info.artifact_uri).path)).parents[1]
        assert home.parent == db.parent, home
        assert "weights.npz" in {f.path for f in client.list_artifacts(run.info.run_id)}
        homes.add(home)
    assert len(homes) == 2
