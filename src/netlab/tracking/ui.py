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
import errno
import ipaddress
import os
import re
import socket
import sys

from .store import TrackingUnavailable, open_store, resolve_uri

# MLflow's GenAI job runner is switched off: it starts eight extra processes training runs never use
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
DEFAULT_STUDY = "activations"  # the Makefile's STUDY when none is given
HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


def runs_link(base_url, tracking_uri, experiment):
    """The runs-table URL of `experiment` in the UI at base_url, or None if it has no runs yet."""
    from mlflow import MlflowClient

    found = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    return f"{base_url}/#/experiments/{found.experiment_id}/runs" if found else None


def studies(tracking_uri):
    """The names of the store's experiments that hold runs, sorted (MLflow's 'Default' left out
    when empty)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    return sorted(e.name for e in client.search_experiments()
                  if e.name != "Default" or client.search_runs([e.experiment_id], max_results=1))


def port_in_use(host, port):
    """Whether another server listens on host:port already (bound as uvicorn binds, so a port
    only lingering in TIME_WAIT counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_port_after(host, port):
    """The first port above `port` nothing listens on (None if none within 100)."""
    return next((p for p in range(port + 1, min(port + 101, 65536))
                 if not port_in_use(host, p)), None)


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
    try:
        busy = port_in_use(args.host, port)
    except OSError as error:  # e.g. an address of no interface of this machine
        raise SystemExit(f"make ui: cannot listen on {args.host}:{port}: {error.strerror}") \
            from None
    if busy:  # its link would open whatever listens there (on macOS port 5000: AirPlay)
        free = free_port_after(args.host, port)
        hint = f"; `make ui PORT={free}` is free" if free else ""
        raise SystemExit(f"make ui: port {port} on {args.host} is in use by another "
                         f"program{hint}")
    base = f"http://{args.host}:{port}"
    link = runs_link(base, uri, args.experiment)
    if link is None and args.experiment != DEFAULT_STUDY:
        there = studies(uri)
        if there:  # likely a typo: say what there is (a new store's study may still be coming)
            raise SystemExit(f"make ui: no experiment '{args.experiment}' in {uri}; its studies: "
                             f"{', '.join(there)} (STUDY= names one)")
    print(f"MLflow UI for {uri} at {base} (ready in ~15 s; Ctrl-C stops it)", flush=True)
    if not is_loopback(args.host):
        print(f"make ui: listening on {args.host}, beyond this machine: whoever reaches port "
              f"{port} can read and change the runs (without HOST=, it listens on 127.0.0.1 only)",
              flush=True)
    if link:
        print(f"runs of '{args.experiment}': {link}", flush=True)
    else:
        print(f"no experiment '{args.experiment}' yet: " + (
            "`make sweep` runs the default study" if args.experiment == DEFAULT_STUDY else
            f"a sweep with mlflow.experiment={args.experiment} makes it"), flush=True)
    if args.serve:
        mlflow = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                  "--workers", "1", "--host", args.host,
                  "--port", str(port)]
        os.execve(sys.executable, mlflow, {**os.environ, **SERVER_ENV})


if __name__ == "__main__":
    main()
