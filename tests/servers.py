"""Throwaway servers for tests: a PostgreSQL cluster and an `mlflow server` in front of it.

`postgres` starts its own cluster (initdb in a temporary folder, as the `postgres` user when run
as root) from Debian's packages; `MlflowServer` runs `mlflow server` on 127.0.0.1 in a process
group of its own, so it can be killed outright (a crash) and started again on the same port;
`mlflow_server` is one for a whole test module. Without PostgreSQL the tests skip, saying why; with
CI=true they fail instead. tests/conftest.py makes the fixtures available to every test module.
"""

import glob
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


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, timeout, what, proc=None, log=None, interval=0.2):
    """Poll ready() every `interval` s until it is true; fail naming `what` after timeout
    seconds, or as soon as proc (when given) has exited."""
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


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1: yields its SQLAlchemy URI."""
    from tests.test_tracking import require

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
    server = subprocess.Popen(
        [*as_user, bindir / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port),
         "-k", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: subprocess.run(
            [bindir / "pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode == 0, 60, "postgres", server)
        subprocess.run([bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "netlab",
                        "mlflow"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://netlab@127.0.0.1:{port}/mlflow"
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


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


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    """`mlflow server` with the PostgreSQL backend and its own artifact store, for a module:
    yields (uri, artifact folder)."""
    server = MlflowServer(postgres, tmp_path_factory.mktemp("server-artifacts"),
                          tmp_path_factory.mktemp("server"))
    try:
        server.start()
        yield server.uri, server.artifacts
    finally:
        server.stop()
