"""Throwaway servers and clusters for the tests, all on loopback, all started and stopped here:

- `postgres`: a PostgreSQL cluster (initdb in a temporary folder, as the `postgres` user when run
  as root; Debian's packages), with a database per use (`postgres.database(name)`);
- `mlflow_server`: an `mlflow server` backed by it, storing the artifacts itself;
- `slurm`: a single-node SLURM cluster from Debian's packages (munged, slurmctld, slurmd as root,
  a minimal slurm.conf in a temporary folder, no cgroups, no accounting daemon);
- `ray_cluster`: two Ray nodes on one machine (`ray start --head`, `ray start --address`), on
  127.0.0.2 and 127.0.0.3 so that each is a node of its own address, as two machines would be.

conftest.py imports the fixtures. PostgreSQL and the tracking server are session-wide (started
once, by the first test that asks); the clusters live for their test module only (idle Ray nodes
still use CPU). A missing part skips the test, saying why; with CI=true it fails instead.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def free_port(host="127.0.0.1"):
    """A TCP port on host nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def group_processes(group):
    """(pid, command-line words) of every process in process group `group` (from /proc)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            pgid = int(open(stat).read().rsplit(")", 1)[1].split()[2])
            command = open(stat.replace("stat", "cmdline"), "rb").read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if pgid == group:
            found.append((int(stat.split("/")[2]), [w.decode() for w in command if w]))
    return found


def wait_until(ready, timeout, what, proc=None, log=None, interval=0.2):
    """Poll ready() every `interval` s until it is true; fail naming `what` after timeout seconds
    (or as soon as proc, the process that should answer, has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = Path(log).read_text()[-2000:] if log else ""
            pytest.fail(f"{what}: process exited with {proc.returncode}\n{tail}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(interval)
    pytest.fail(f"{what}: not ready after {timeout} s")


def http_ok(url):
    """True when GET url answers 200."""
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def stop(proc, timeout=30, group=False):
    """End proc (its whole process group when group): SIGTERM, then SIGKILL after timeout s."""
    if proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    try:
        send(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    if group:  # the group may outlive its leader
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def require(condition, reason):
    """Skip with a one-line reason unless condition holds; with CI=true, fail instead."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, yet {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------- PostgreSQL
class Postgres:
    """A running PostgreSQL cluster: `uri` is its `mlflow` database's SQLAlchemy URI."""

    def __init__(self, bindir, port):
        self.bindir, self.port = bindir, port
        self.uri = self.database("mlflow")

    def database(self, name, driver="+psycopg2"):
        """Create database `name`; returns its URI (postgresql+psycopg2://… or another driver)."""
        subprocess.run([self.bindir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                        "netlab", name], check=True, capture_output=True)
        return f"postgresql{driver}://netlab@127.0.0.1:{self.port}/{name}"

    def query(self, database, sql):
        """Run sql with psql; returns its rows as lists of strings."""
        out = subprocess.run([self.bindir / "psql", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "netlab", "-d", database, "-At", "-F", "\t", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines()]


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, user netlab)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    require(bins, "PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(bins[-1]).parent
    as_user = []
    folder = Path(tempfile.mkdtemp(prefix="netlab-pg-"))
    if os.geteuid() == 0:
        require(shutil.which("runuser"), "running as root without runuser to drop to postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "-U", "netlab", "--auth=trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    # every sweep process, its jobs and the tracking server each hold connections: room for them
    server = subprocess.Popen(
        [*as_user, bindir / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port),
         "-k", folder, "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: subprocess.run(
            [bindir / "pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode == 0, 60, "postgres", server)
        yield Postgres(bindir, port)
    finally:
        stop(server, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory):
    """`mlflow server` on 127.0.0.1 with the PostgreSQL backend and its own artifact store:
    yields (its URI, the artifact folder)."""
    artifacts, port = tmp_path_factory.mktemp("server-artifacts"), free_port()
    log_path = tmp_path_factory.mktemp("server-log") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [VENV_BIN / "mlflow", "server", "--backend-store-uri", postgres.uri,
             "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
            cwd=tmp_path_factory.mktemp("cwd"),
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # GenAI: unused
        uri = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: http_ok(f"{uri}/health"), 180, "mlflow server", proc, log_path)
            yield uri, artifacts
        finally:
            stop(proc)


class MlflowServer:
    """`mlflow server` on 127.0.0.1 with backend store `backend` and its own artifact store,
    started (and restarted) on one port; its process group can be killed like a crash."""

    def __init__(self, backend, artifacts, folder):
        self.backend, self.artifacts, self.folder = backend, Path(artifacts), Path(folder)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log_path = self.folder / "server.log"
        self.proc = None

    def start(self, timeout=180):
        """Start the server and wait until /health answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [Path(sys.executable).with_name("mlflow"), "server",
                 "--backend-store-uri", self.backend,
                 "--artifacts-destination", str(self.artifacts),
                 "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
                env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # GenAI jobs
        wait_until(lambda: http_ok(f"{self.uri}/health"), timeout, "mlflow server", self.proc,
                   self.log_path)
        return self

    def kill(self):
        """SIGKILL the server and its workers at once (a crash); wait until the port is free."""
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        wait_until(lambda: not _listening(self.port), 30, "mlflow server to let its port go")

    def stop(self):
        """SIGTERM the server's process group; SIGKILL what is left after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            self._signal(signal.SIGKILL)  # its workers, if any outlived it
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def _signal(self, signum):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                pass


def _listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---------------------------------------------------------------- SLURM
# KillWait: seconds between a cancel's SIGTERM and SIGKILL (SLURM's default 30). On a loaded
# 2-core machine a cancelled job once did not end its run and write its result within 30 s; a
# job SIGKILLed leaves submitit nothing to read without accounting (tests/test_slurm.py).
SLURM_CONF = """\
ClusterName=netlab
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=120
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class Slurm:
    """A running single-node cluster: `env` holds SLURM_CONF for its commands (sbatch, squeue…)."""

    def __init__(self, folder):
        self.folder = folder
        self.env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}

    def run(self, *command, check=True):
        """Run a SLURM command (squeue, sinfo, scancel…) against this cluster; returns stdout."""
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60,
                              check=check).stdout

    def node_state(self):
        return self.run("sinfo", "-h", "-o", "%t").strip()

    def jobs(self):
        """The ids of the cluster's pending and running jobs (array tasks as 12_3)."""
        return self.run("squeue", "-h", "-o", "%i").split()


def _munge_answers():
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm():
    """A single-node SLURM cluster on loopback (root; munged, slurmctld, slurmd), the node idle."""
    parts = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel")
    missing = [p for p in parts if not shutil.which(p)]
    require(not missing, f"SLURM is not installed ({', '.join(missing)} missing: apt-get install "
                         "slurmctld slurmd munge slurm-client)")
    require(os.geteuid() == 0, "the SLURM cluster runs its daemons as root")
    require(Path("/etc/munge/munge.key").exists(), "munge has no key (/etc/munge/munge.key)")
    folder = Path(tempfile.mkdtemp(prefix="netlab-slurm-"))
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir()
    (folder / "slurm.conf").write_text(SLURM_CONF.format(
        folder=folder, ctld_port=free_port(), d_port=free_port()))
    started = []
    try:
        if not _munge_answers():  # munged may already serve this machine; else start it
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            munged = subprocess.Popen(["runuser", "-u", "munge", "--", "munged", "--foreground",
                                       "--log-file", str(folder / "log" / "munged.log")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            started.append(munged)
            wait_until(_munge_answers, 30, "munged", munged)
        cluster = Slurm(folder)
        for daemon, args in (("slurmctld", []), ("slurmd", ["-N", "localhost"])):
            log = folder / "log" / f"{daemon}.out"
            with open(log, "w") as out:
                proc = subprocess.Popen([daemon, "-D", "-f", folder / "slurm.conf", *args],
                                        stdout=out, stderr=subprocess.STDOUT, env=cluster.env)
            started.append(proc)
            if daemon == "slurmctld":
                wait_until(lambda: cluster.run("sinfo", check=False) != "", 60, daemon, proc, log)
        wait_until(lambda: cluster.node_state() == "idle", 60, "the SLURM node (sinfo: idle)",
                   started[-1], folder / "log" / "slurmd.out")
        yield cluster
        if cluster.jobs():  # leave nothing running behind
            cluster.run("scancel", "--user", "root", check=False)
            wait_until(lambda: not cluster.jobs(), 90, "scancel of the remaining jobs")
    finally:
        for proc in reversed(started):
            stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- Ray
# Ray replaces 127.0.0.1 by the address it routes out through; other loopback addresses it keeps,
# so the nodes stay on loopback. The cluster is a test's own: no token authentication.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"


class RayCluster:
    """Two Ray nodes: `address` (the head's GCS), `nodes` {ip: node id}, `worker` (the second
    node's `ray start --block` process, leader of its process group)."""

    def __init__(self, address, env, folder):
        self.address, self.env, self.folder = address, env, folder
        self.head = self.worker = None
        self.nodes = {}

    def start_node(self, ip, head):
        port_args = (["--head", "--port", self.address.split(":")[1], "--include-dashboard=false",
                      "--ray-client-server-port", str(free_port())] if head
                     else ["--address", self.address])
        log = self.folder / f"ray-{ip}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [VENV_BIN / "ray", "start", "--block", *port_args, "--node-ip-address", ip,
                 "--num-cpus", "1", "--disable-usage-stats",
                 "--dashboard-agent-listen-port", str(free_port()),
                 "--temp-dir", str(self.folder / "tmp")],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
                cwd=self.folder)  # a node's workers run there
        wait_until(lambda: "Ray runtime started" in log.read_text(), 120, f"ray node {ip}",
                   proc, log, interval=0.5)
        return proc

    def alive_nodes(self):
        """{node ip: node id} of the live nodes, as the cluster's GCS sees them."""
        code = (f"import json, ray; ray.init(address={self.address!r}, logging_level='ERROR'); "
                "print(json.dumps({n['NodeManagerAddress']: n['NodeID'] for n in ray.nodes() "
                "if n['Alive']}))")
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True,
                             text=True, timeout=120, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    def stop_worker(self, sig=signal.SIGKILL):
        """Stop the second node at once, all its processes (its raylet, its workers)."""
        os.killpg(self.worker.pid, sig)
        self.worker.wait(timeout=60)


@pytest.fixture(scope="module")
def ray_cluster():
    """Two Ray nodes of one CPU each on this machine, standing in for two machines."""
    import importlib.util

    require(importlib.util.find_spec("ray") is not None,
            "Ray is not installed: `make ray` (pip install -e '.[ray]')")
    folder = Path(tempfile.mkdtemp(prefix="nlray-"))  # short: Ray's socket paths are limited
    # the nodes know nothing of a sweep: no tracking URI, no parent run in their environment
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NETLAB_"))}
    cluster = RayCluster(f"{HEAD_IP}:{free_port(HEAD_IP)}", {**env, **RAY_ENV}, folder)
    try:
        cluster.head = cluster.start_node(HEAD_IP, head=True)
        cluster.worker = cluster.start_node(WORKER_IP, head=False)
        deadline = time.monotonic() + 60
        while len(cluster.nodes) < 2 and time.monotonic() < deadline:
            cluster.nodes = cluster.alive_nodes()
        assert set(cluster.nodes) == {HEAD_IP, WORKER_IP}, cluster.nodes
        yield cluster
    finally:
        for proc in (cluster.worker, cluster.head):
            if proc is not None:  # a node drains for up to 30 s on SIGTERM: not worth waiting
                stop(proc, timeout=5, group=True)
        shutil.rmtree(folder, ignore_errors=True)
