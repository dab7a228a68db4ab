"""Where runs go: resolve the tracking URI, check it answers, create/upgrade the store, tidy it.

MLflow is imported inside the functions that talk to a store, so resolving a URI costs nothing.
"""

import fcntl
import glob
import os
import re
import shutil
import socket
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from netlab.interrupts import held
from netlab.paths import PROJECT_ROOT, slug

HOST_TAG, PID_TAG, START_TAG = "netlab.host", "netlab.pid", "netlab.pid_start"
# the stores MLflow's tracking client answers (a database through SQLAlchemy, a server, files)
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SCHEMES = (*DATABASE_SCHEMES, "http", "https", "file", "databricks")


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached or created; the message is one line for the user."""


def default_uri(root=PROJECT_ROOT):
    """The embedded store: sqlite:///<root>/mlruns/mlflow.db."""
    return f"sqlite:///{Path(root).resolve() / 'mlruns' / 'mlflow.db'}"


def resolve_uri(override=None, cwd=None):
    """The config override, else MLFLOW_TRACKING_URI, else the project's embedded SQLite store.

    A relative SQLite path (sqlite:///my.db, the form MLflow's own messages suggest) is taken
    relative to cwd (the directory the command runs in) and made absolute, so every process of a
    sweep finds the same file. A scheme no store answers raises TrackingUnavailable.
    """
    uri = override or os.environ.get("MLFLOW_TRACKING_URI") or default_uri()
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme not in SCHEMES:
        raise TrackingUnavailable(
            f"tracking URI {uri!r}: no tracking store answers the scheme {scheme + '://'!r} "
            f"(use sqlite:///path.db, http://host:port, postgresql://…, or a folder)")
    db = sqlite_path(uri)
    if db is not None and not db.is_absolute() and str(db) != ":memory:":
        uri = f"sqlite:///{(Path(cwd or os.getcwd()) / db).resolve()}"
    return uri


def sqlite_path(uri):
    """The database file of a sqlite:/// URI, or None for any other URI."""
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def artifact_location(uri, experiment):
    """Where a new experiment's artifacts go: beside a SQLite file, else where the server says."""
    db = sqlite_path(uri)
    return None if db is None else (db.parent / slug(experiment, reserved=(db.name,))).as_uri()


def local_artifact_folder(artifact_uri):
    """The folder of a local artifact URI (file:///…, or a plain path), else None (a server's)."""
    parsed = urlparse(artifact_uri or "")
    if parsed.scheme == "file" or (not parsed.scheme and parsed.path.startswith("/")):
        return Path(url2pathname(parsed.path))
    return None


def check_reachable(uri, timeout=3.0):
    """Raise TrackingUnavailable (one line) unless the store at uri can be used."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                if response.status == 200:
                    return
                raise TrackingUnavailable(
                    f"tracking server {uri} answered {response.status} on /health")
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TrackingUnavailable(f"tracking server {uri} is unreachable: {reason}") from None
    db = sqlite_path(uri)
    if db is not None:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrackingUnavailable(
                f"cannot create {db.parent} for the tracking store: {e}") from None
        if not os.access(db.parent, os.W_OK):
            raise TrackingUnavailable(f"tracking store folder {db.parent} is not writable")


def check_existing(uri, timeout=3.0):
    """Raise TrackingUnavailable (one line) unless uri names a store that already exists, without
    importing MLflow or creating anything: a server answers /health within timeout, a SQLite file
    is there and is a database with MLflow's tables, a file store's folder is there.

    For the commands that read runs back (src.report, src.compare, src.reproduce): MLflow's client
    would create a mistyped SQLite file or folder, and retry a server that does not answer for
    minutes. A database server (PostgreSQL, …) is checked by open_existing."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        check_reachable(uri, timeout)
        return
    db = sqlite_path(uri)
    if db is not None:
        if not db.exists():
            raise TrackingUnavailable(f"no tracking store at {db} (check --tracking-uri or "
                                      "MLFLOW_TRACKING_URI)")
        if not db.is_file():
            raise TrackingUnavailable(f"tracking store {db} is not a file")
        try:  # mode=rw: never creates the file; a write-protected one opens read-only
            with closing(sqlite3.connect(f"{db.as_uri()}?mode=rw", uri=True)) as connection:
                tables = {row[0] for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as e:
            hint = "" if os.access(db.parent, os.W_OK) else (
                " (its folder is read-only: SQLite writes its -wal and -shm files beside a store "
                "in WAL mode, even to read it)")
            raise TrackingUnavailable(f"cannot read tracking store {db}: {e}{hint}") from None
        if not {"experiments", "runs", "alembic_version"} <= tables:
            raise TrackingUnavailable(f"{db} is not an MLflow tracking store (it has no MLflow "
                                      "tables)")
    elif scheme == "file":
        folder = Path(urlparse(uri).path)
        if not folder.is_dir():
            raise TrackingUnavailable(f"no tracking store at {folder} (check --tracking-uri or "
                                      "MLFLOW_TRACKING_URI)")


def open_existing(uri, timeout=3.0):
    """A client of the store at uri, which must exist and be whole: check_existing, then MLflow's
    own tables all there and its default experiment (else MLflow would create them, writing into
    a store that is only read), then a first query. Every failure is TrackingUnavailable, one
    line; nothing is created or changed."""
    check_existing(uri, timeout)
    quiet_store_logs()
    if urlparse(uri).scheme.split("+")[0] in DATABASE_SCHEMES:
        _check_tables(uri)
    from mlflow import MlflowClient

    try:
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)
    except Exception as e:  # noqa: BLE001 - any failure to read is reported the same way
        raise TrackingUnavailable(f"cannot read tracking store {uri}: {first_line(e)}") from None
    return client


def _check_tables(uri):
    """Raise TrackingUnavailable unless the database at uri holds every table of MLflow's schema
    and its default experiment (what MLflow's store would otherwise create when opened)."""
    import mlflow.store.db.utils  # noqa: F401 - imports every table's model into Base
    import sqlalchemy
    from mlflow.store.db.base_sql_model import Base

    try:
        engine = sqlalchemy.create_engine(uri)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
            default = False
            if "experiments" in tables:
                with engine.connect() as connection:
                    default = connection.execute(sqlalchemy.text(
                        "SELECT 1 FROM experiments WHERE experiment_id = 0")).first() is not None
        finally:
            engine.dispose()
    except Exception as e:  # noqa: BLE001 - a database that cannot be read, whatever the driver
        raise TrackingUnavailable(f"cannot read tracking store {uri}: {first_line(e)}") from None
    missing = set(Base.metadata.tables) - tables
    if "experiments" not in tables or "runs" not in tables:
        raise TrackingUnavailable(f"{uri} is not an MLflow tracking store (it has no MLflow "
                                  "tables)")
    if missing or not default:
        raise TrackingUnavailable(
            f"tracking store {uri} is incomplete ({len(missing)} of MLflow's tables missing"
            f"{'' if default else ', no default experiment'}): made by an older MLflow "
            f"(`mlflow db upgrade {uri}` upgrades it) or its creation was interrupted")


def first_line(error):
    """An exception as one line: its message's first line, else its type's name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# where the errors of a store come from: MLflow, its database drivers, its HTTP client
_STORE_MODULES = ("mlflow", "sqlalchemy", "sqlite3", "psycopg2", "requests", "urllib3")


def is_store_error(error):
    """Whether error was raised by the tracking store (not by training)."""
    return isinstance(error, TrackingUnavailable) or \
        type(error).__module__.split(".")[0] in _STORE_MODULES


def failure_line(uri, error):
    """Why the store at uri failed, in one line: a server that no longer answers said as such."""
    if isinstance(error, TrackingUnavailable):
        return str(error)
    if urlparse(uri).scheme in ("http", "https"):
        try:
            check_reachable(uri)
        except TrackingUnavailable as unreachable:
            return str(unreachable)
    return f"store {uri}: {first_line(error)}"


def open_store(uri):
    """Check, then create or upgrade the store at uri (schema migration happens here, once).
    A new SQLite store is built aside and appears whole (create_sqlite_store).

    A SQLite store is switched to write-ahead logging (it persists in the file): parallel jobs then
    write without blocking readers, and commits are cheap.
    """
    check_reachable(uri)
    from mlflow import MlflowClient

    quiet_store_logs()
    db = sqlite_path(uri)
    existed = db is not None and db.exists()
    try:
        if db is None:
            client = MlflowClient(uri)
            client.search_experiments(max_results=1)
        else:
            create_sqlite_store(db)
            client = _open_sqlite_store(uri, db)
        if db is not None:
            with closing(sqlite3.connect(db, timeout=30)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
    except TrackingUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - any failure to open is reported the same way
        if db is not None and not existed and db.exists() and db.stat().st_size == 0:
            db.unlink()  # do not leave an empty file behind
        raise TrackingUnavailable(f"cannot open tracking store {uri}: {first_line(e)}") from None
    return client


# ---------------------------------------------------------------- creating a SQLite store
# MLflow builds a store's schema in place, in dozens of migrations (seconds), each of whose DDL
# commits on its own: a command killed or interrupted meanwhile, or two commands building one file
# at once, leave a database every later open fails on ("table _alembic_tmp_experiments already
# exists"). So a new store is built in a file of this process's own beside it and appears under
# its name, whole, in one link; a store an older version left half-built is set aside or named.
BUILD_AGE = 3600  # seconds after which another host's build file is stale (a build takes seconds)


def _build_files(db):
    """The build files beside db: {path: (host, pid)} (their journals included)."""
    pattern = re.compile(rf"\.{re.escape(db.name)}\.new-(.+)-(\d+)(?:-journal|-wal|-shm)?")
    found = {}
    for path in db.parent.glob(f".{glob.escape(db.name)}.new-*"):
        match = pattern.fullmatch(path.name)
        if match:
            found[path] = match.groups()
    return found


def _remove_stale_builds(db):
    """Delete the build files of processes that died building (kill -9 leaves them)."""
    for path, (host, pid) in _build_files(db).items():
        try:
            stale = not is_alive({HOST_TAG: host, PID_TAG: pid}) if host == socket.gethostname() \
                else time.time() - path.stat().st_mtime > BUILD_AGE
            if stale:
                path.unlink()
        except FileNotFoundError:  # another process removed it first
            pass


def _unlink_database(path):
    for part in (path, *(path.with_name(path.name + end) for end in ("-journal", "-wal", "-shm"))):
        part.unlink(missing_ok=True)


def _build_store(db):
    """Build a whole new store in this process's build file beside db; returns its path."""
    from mlflow import MlflowClient

    build = db.with_name(f".{db.name}.new-{socket.gethostname()}-{os.getpid()}")
    _unlink_database(build)  # a dead process of the same pid (a container's) left it
    pool = os.environ.get("MLFLOW_SQLALCHEMYSTORE_POOLCLASS")
    # MLflow keeps an engine per URI for the process's life: without a pool, no connection
    # stays open on the build file once it is linked and unlinked
    os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = "NullPool"
    try:
        MlflowClient(f"sqlite:///{build}").search_experiments(max_results=1)  # the migrations
        with closing(sqlite3.connect(build)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")  # kept in the file
        with open(build, "rb") as written:
            os.fsync(written.fileno())
    except BaseException:
        _unlink_database(build)
        raise
    finally:
        if pool is None:
            os.environ.pop("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", None)
        else:
            os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = pool
    return build


def create_sqlite_store(db):
    """Create the SQLite store db if it does not exist: built aside, then linked into place (if
    another process linked one first, that one is used). Ctrl-C or an error leaves nothing."""
    db = Path(db)
    _remove_stale_builds(db)
    if db.exists():
        if _leftover(db) is not None:
            _replace_half_built(db, lambda: _leftover(db))
        return
    build = _build_store(db)
    try:
        os.link(build, db)
    except FileExistsError:  # another process published its store first: that one is used
        pass
    finally:
        _unlink_database(build)


def _leftover(db):
    """What shows the SQLite file db half-built by an interrupted creation, or None."""
    try:  # read-write: a killed writer's journal is rolled back first, as any open does
        with closing(sqlite3.connect(db, timeout=30)) as connection:
            tables = {name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return "an empty database"
            temporary = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
            if temporary:
                return f"table {temporary[0]} left by an interrupted migration"
            if "alembic_version" not in tables or not connection.execute(
                    "SELECT 1 FROM alembic_version").fetchall():
                return "no schema version"
    except sqlite3.DatabaseError:
        return None  # not for this check to judge: opening it will say what is wrong
    return None


# what MLflow raises on a database an interrupted migration left (a migration's DDL half-applied)
_HALF_BUILT = ("already exists", "duplicate column", "out-of-date database schema",
               "expected to match one row")


def _open_sqlite_store(uri, db):
    """A client of the SQLite store db at uri, once it answers; one MLflow fails on as half-built
    (an older version built it in place, interrupted) is replaced, or named if it holds runs."""
    from mlflow import MlflowClient

    def half_built():
        try:
            MlflowClient(uri).search_experiments(max_results=1)
        except Exception as error:
            if not any(sign in str(error).lower() for sign in _HALF_BUILT):
                raise
            return re.sub(r"^\(\w+(\.\w+)*\) ", "", first_line(error))  # "(sqlite3.…Error) "
        return None

    if half_built() is not None:
        _replace_half_built(db, half_built)
    client = MlflowClient(uri)
    client.search_experiments(max_results=1)
    return client


def _runs_in(db):
    """How many runs the SQLite store db holds (0 if it has no runs table yet)."""
    with closing(sqlite3.connect(db, timeout=30)) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                  "name = 'runs'").fetchall():
            return 0
        return connection.execute("SELECT count(*) FROM runs").fetchone()[0]


def _replace_half_built(db, problem):
    """Set the half-built store db aside (db.broken-<time>, as it was) and put a whole new one in
    its place, saying so in one line; if it holds runs, raise TrackingUnavailable naming it and
    the command that repairs it. problem(): what shows it half-built, or None (asked again under
    a lock: another process may have replaced it meanwhile). The new store is copied into db's
    own file, as this process's MLflow may hold a connection to that file."""
    with _folder_lock(db.parent):
        problem = problem()
        if problem is None:
            return
        runs = _runs_in(db)
        if runs:
            raise TrackingUnavailable(
                f"store {db} is half-built ({problem}) and holds {runs} run"
                f"{'s' if runs != 1 else ''}: repair it (a copy is kept) with "
                f"`{sys.executable} -m netlab.tracking.repair {db}`")
        aside = db.with_name(f"{db.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copyfile(db, aside)
        build = _build_store(db)
        try:
            with closing(sqlite3.connect(build)) as source, \
                    closing(sqlite3.connect(db, timeout=30)) as target:
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
        finally:
            _unlink_database(build)
    print(f"tracking: store {db} was half-built ({problem}; it held no runs): set aside as "
          f"{aside}, built anew", file=sys.stderr, flush=True)


@contextmanager
def _folder_lock(folder):
    """An exclusive lock on a folder (flock; released if the process dies)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def quiet_store_logs():
    """MLflow logs two INFO lines when it creates a database (the sweep says what it opened),
    and a database error's whole traceback before raising it (the job says it in one line)."""
    import logging

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)


_EXPERIMENTS = {}  # (tracking URI, name) -> id, found or created by this process


def get_or_create_experiment(client, name):
    """The id of experiment `name`, created (artifacts beside a SQLite store) if missing."""
    known = _EXPERIMENTS.get((client.tracking_uri, name))
    if known is not None:
        return known
    _EXPERIMENTS[(client.tracking_uri, name)] = _get_or_create_experiment(client, name)
    return _EXPERIMENTS[(client.tracking_uri, name)]


@held()  # a store write is never cut in half by an interrupt (netlab.interrupts)
def _get_or_create_experiment(client, name):
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    location = artifact_location(client.tracking_uri, name)
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # noqa: BLE001 - a parallel process created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


# where a scheduler ran the process: SLURM's variables, as `slurm.job_id` …
SLURM_TAGS = {"SLURM_JOB_ID": "slurm.job_id", "SLURM_ARRAY_JOB_ID": "slurm.array_job_id",
              "SLURM_ARRAY_TASK_ID": "slurm.array_task_id", "SLURMD_NODENAME": "slurm.node"}


def process_tags():
    """Tags identifying this process, so a later start can tell a dead run from a live one, and
    where a scheduler ran it: the SLURM job (`slurm.job_id`, `slurm.array_task_id`, …) or the Ray
    node (`ray.node_id`) whose worker it is."""
    pid = os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: _start_time(pid)}
    tags.update({tag: os.environ[var] for var, tag in SLURM_TAGS.items() if os.environ.get(var)})
    tags.update(_ray_tags())
    return tags


def _ray_tags():
    """{ray.node_id, ray.job_id} inside a Ray worker (Ray is never imported for it)."""
    ray = sys.modules.get("ray")
    try:
        if ray is None or not ray.is_initialized():
            return {}
        context = ray.get_runtime_context()
        return {"ray.node_id": context.get_node_id(), "ray.job_id": context.get_job_id()}
    except Exception:  # noqa: BLE001 - a tag is not worth failing a run for
        return {}


def _state(pid):
    """A process's state letter from /proc (R, S, Z for a zombie, …; '' where unknown)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _start_time(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def is_process_alive(pid):
    """Whether process pid of this machine is running (a zombie is not; another user's is)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X")


def is_alive(tags):
    """Whether the process a run's tags name is still running (on another host: assumed so)."""
    if tags.get(HOST_TAG) != socket.gethostname():
        return True
    pid, start = tags.get(PID_TAG, ""), tags.get(START_TAG, "")
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    if _state(int(pid)) in ("Z", "X"):  # killed, not yet reaped: it runs nothing any more
        return False
    return not start or _start_time(int(pid)) in ("", start)


@held()
def mark_stale_runs_killed(client, experiment_id, reason="process ended while running",
                           own=False, where=""):
    """Mark KILLED the RUNNING runs of this host whose process is gone (and, with own, this
    process's: after an interrupt, none of them goes on); `where` narrows the search (an MLflow
    filter, e.g. one sweep's children). Returns their ids."""
    stale = []
    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'" + where,
                                 max_results=5000)
    for run in running:
        tags = run.data.tags
        mine = own and tags.get(HOST_TAG) == socket.gethostname() and \
            tags.get(PID_TAG) == str(os.getpid())
        if is_alive(tags) and not mine:
            continue
        end_run(client, run.info.run_id, "KILLED", ("killed_reason", reason))
        stale.append(run.info.run_id)
    return stale


def end_unended_runs(client, experiment_id, where=""):
    """End FAILED this process's runs still RUNNING once all its jobs have returned: a store that
    refused their end (a disk just full) may take it now, a moment and other writes later, where
    waiting for the next command would leave them looking alive meanwhile. Returns their ids."""
    ended = []
    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'" + where,
                                 max_results=5000)
    for run in running:
        tags = run.data.tags
        if tags.get(HOST_TAG) != socket.gethostname() or tags.get(PID_TAG) != str(os.getpid()):
            continue
        try:
            end_run(client, run.info.run_id, "FAILED",
                    ("error", "its end could not be written when its job ended"))
        except Exception:  # noqa: BLE001 - still refused: the next command marks it KILLED
            continue
        ended.append(run.info.run_id)
    return ended


@held()
def end_run(client, run_id, status, tag=None):
    """End a run with status, then set tag (key, value) on it, e.g. why it failed. The end does not
    wait on the tag: a store that fails on one write (a disk just full) may take a smaller one, and
    a run left RUNNING looks alive to other processes on other hosts. Raises if the end cannot be
    written; a tag that cannot is left out (the terminal says why too)."""
    client.set_terminated(run_id, status)
    if tag is not None:
        try:
            client.set_tag(run_id, *tag)
        except Exception:  # noqa: BLE001 - the run has ended, which is what matters
            pass


@held()
def set_shared_tag(set_tag, owner, key, value):
    """Set a tag with set_tag (a client's set_tag or set_experiment_tag) on a run or experiment
    that other processes may tag at the same moment (a study's experiment and a sweep's parent run,
    shared by two sweeps of one study): MLflow's database store checks, then inserts, so the loser
    of a race gets a unique-constraint error; the tag is there then, and a second try updates it."""
    try:
        set_tag(owner, key, value)
    except Exception as error:  # noqa: BLE001 - only the insert race is retried
        if "unique constraint" not in str(error).lower():
            raise
        set_tag(owner, key, value)


def runs_of_group(client, experiment_id, group_hash):
    """The FINISHED and RUNNING runs of one configuration (all its seeds), newest first."""
    return client.search_runs(
        [experiment_id],
        f"tags.group_hash = '{group_hash}' and attributes.status != 'FAILED' "
        "and attributes.status != 'KILLED'",
        max_results=50000, order_by=["attributes.start_time DESC"])


def finished_by_hash(runs):
    """{config_hash: the newest FINISHED run} of runs (newest first)."""
    found = {}
    for run in runs:
        if run.info.status == "FINISHED":
            found.setdefault(run.data.tags.get("config_hash"), run)
    return found


def missing_artifacts(client, run, names):
    """Which of the top-level artifacts `names` a run lacks: looked up in its folder when its
    artifacts are local (microseconds), else listed by the store (one request)."""
    folder = local_artifact_folder(run.info.artifact_uri)
    if folder is not None:
        return [name for name in names if not (folder / name).is_file()]
    listed = {item.path for item in client.list_artifacts(run.info.run_id)}
    return [name for name in names if name not in listed]


@held()
def with_artifacts(client, runs, names):
    """The FINISHED runs that still have the artifacts `names`; one whose files are gone (deleted
    from the store since) is not done: it ends FAILED saying so, and the next sweep trains it."""
    kept = []
    for run in runs:
        missing = missing_artifacts(client, run, names)
        if not missing:
            kept.append(run)
            continue
        end_run(client, run.info.run_id, "FAILED",
                ("error", f"its files are gone ({', '.join(missing)}): trained again by the "
                          "next sweep"))
    return kept


def claim_lost(client, experiment_id, group_hash, mine, rerun=False):
    """Which of my new runs (config_hash -> run id) lost their config to another live process:
    {config_hash: the winning run id}.

    Runs are created RUNNING before training: that is the claim. When two processes train the
    same config at once, the earliest claim wins (start time, then run id), and a run that
    FINISHED meanwhile wins over any claim (unless rerun: +force=true trains it again anyway);
    a claim of a process that died does not count.
    """
    rivals = {}
    for run in runs_of_group(client, experiment_id, group_hash):
        chash = run.data.tags.get("config_hash")
        if chash not in mine or run.info.run_id == mine[chash]:
            continue
        if run.info.status == "RUNNING" and not is_alive(run.data.tags):
            continue
        if run.info.status == "FINISHED" and rerun:
            continue
        rivals.setdefault(chash, []).append(run)
    lost = {}
    for chash, runs in rivals.items():
        own = client.get_run(mine[chash]).info
        for run in runs:
            earlier = (run.info.start_time, run.info.run_id) < (own.start_time, own.run_id)
            if run.info.status == "FINISHED" or earlier:
                lost[chash] = run.info.run_id
                break
    return lost
