"""`python -m netlab.tracking.ui`: print where the MLflow UI shows the runs of a study; with
--serve, then become that UI's server (what `make ui` runs).

The UI's experiment page opens on a GenAI overview that hides training runs; the runs table is at
#/experiments/<id>/runs, so that is the link printed.

`make ui` serves MLflow's own UI (`mlflow ui`). The values `make ui` is given (STUDY, STORE,
HOST, PORT) arrive here as arguments, never through a shell command line: the server is started
with os.execv and a list of arguments. The UI listens on 127.0.0.1 unless told otherwise, and says
so in one line when it listens beyond this machine.
"""

import argparse
import ipaddress
import os
import re
import sys

from .store import TrackingUnavailable, open_store, resolve_uri

# MLflow's GenAI job runner is switched off: it starts eight extra processes training runs never use
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


def runs_link(base_url, tracking_uri, experiment):
    """The runs-table URL of `experiment` in the UI at base_url, or None if it has no runs yet."""
    from mlflow import MlflowClient

    found = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    return f"{base_url}/#/experiments/{found.experiment_id}/runs" if found else None


def is_loopback(host):
    """Whether host is this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host):
    """Raise ValueError (one line) unless host is an IP address or a host name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOST_NAME.fullmatch(host):
            raise ValueError(f"HOST={host!r} is not an IP address or a host name") from None


def check_port(port):
    """The port as an integer; ValueError (one line) unless it is one in 1-65535."""
    if not re.fullmatch(r"\d{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError(f"PORT={port!r} is not a port number (1-65535)")
    return int(port)


def main(argv=None):
    """Print the UI's address and the runs table of the study; with --serve, start the UI."""
    parser = argparse.ArgumentParser(prog="python -m netlab.tracking.ui",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    parser.add_argument("--experiment", default="activations", help="default: the default study")
    parser.add_argument("--store", default="", help="the store's URI (default: "
                        "$MLFLOW_TRACKING_URI, else the project's mlruns/mlflow.db)")
    parser.add_argument("--serve", action="store_true",
                        help="then start MLflow's server on it (make ui)")
    args = parser.parse_args(argv)
    try:
        check_host(args.host)
        port = check_port(args.port)
        uri = resolve_uri(args.store or None)
        open_store(uri)  # created here, whole: MLflow's server would build a new one in place
    except (ValueError, TrackingUnavailable) as error:
        raise SystemExit(f"make ui: {error}") from None
    base = f"http://{args.host}:{port}"
    link = runs_link(base, uri, args.experiment)
    print(f"MLflow UI for {uri} at {base} (ready in ~15 s; Ctrl-C stops it)", flush=True)
    if not is_loopback(args.host):
        print(f"make ui: listening on {args.host}, beyond this machine: whoever reaches port "
              f"{port} can read and change the runs (without HOST=, it listens on 127.0.0.1 only)",
              flush=True)
    if link:
        print(f"runs of '{args.experiment}': {link}", flush=True)
    else:
        print(f"no experiment '{args.experiment}' yet: `make sweep` runs the default study",
              flush=True)
    if args.serve:
        mlflow = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                  "--workers", "1", "--host", args.host,
                  "--port", str(port)]
        os.execve(sys.executable, mlflow, {**os.environ, **SERVER_ENV})


if __name__ == "__main__":
    main()
