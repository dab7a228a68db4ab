"""`make ui`'s first step (netlab.tracking.ui) refuses what would mislead (issue 21, item 6): a
port another program listens on (the printed link would open that program: on macOS, port 5000
is AirPlay's), and a study the store does not hold (a typo would open an empty page). Each is one
line and a non-zero exit, before any server starts."""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from netlab.tracking.ui import main
from tests.conftest import copy_store
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def refusal(argv):
    """The one line main(argv) exits with."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    message = str(exited.value.code)
    assert "\n" not in message and message.startswith("make ui: "), message
    return message


def test_a_busy_port_is_refused_naming_a_free_one(tracking_uri):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = refusal(["--port", str(port)])
    assert f"port {port} on 127.0.0.1 is in use by another program" in said
    suggested = int(said.rsplit("PORT=", 1)[1].split("`")[0])
    assert suggested > port


def test_a_study_the_store_does_not_hold_names_those_it_does(tracking_uri, empty_store, tmp_path,
                                                             capsys):
    client = MlflowClient(tracking_uri)
    for name in ("width", "depth"):
        client.create_run(client.create_experiment(name))
    said = refusal(["--port", str(free_port()), "--experiment", "widht"])
    assert said == (f"make ui: no experiment 'widht' in {tracking_uri}; its studies: depth, "
                    "width (STUDY= names one)")
    copy_store(empty_store, tmp_path / "empty.db")
    # a store with no study yet: the named one may be on its way (a sweep started beside), so the
    # UI opens and says so
    main(["--port", str(free_port()), "--experiment", "widht",
          "--store", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert "no experiment 'widht' yet: a sweep with mlflow.experiment=widht makes it" \
        in capsys.readouterr().out

    main(["--port", str(free_port())])  # the default study, not run yet: the UI still opens
    assert "no experiment 'activations' yet" in capsys.readouterr().out


@pytest.mark.slow
def test_make_ui_on_a_busy_port_exits_non_zero_in_one_line(tracking_uri):
    if not shutil.which("make"):
        pytest.skip("no make")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(["make", "-s", "ui", f"PORT={port}"], cwd=ROOT, text=True,
                              capture_output=True, timeout=120)
    assert done.returncode != 0
    assert done.stdout == "", done.stdout  # no link printed
    assert done.stderr.splitlines()[0].startswith(f"make ui: port {port} on 127.0.0.1 is in use")
