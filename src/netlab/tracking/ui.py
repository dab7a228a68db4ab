"""`python -m netlab.tracking.ui`: print where the MLflow UI shows the runs of a study (make ui).

The UI's experiment page opens on a GenAI overview that hides training runs; the runs table is at
#/experiments/<id>/runs, so that is the link printed.

`make ui` serves MLflow's own server app through server_app() (`mlflow ui --app-name netlab`, the
`mlflow.app` entry point in pyproject.toml), which only freezes what the server imported out of
Python's garbage collector (src/netlab/collector.py): a runs search of 100 runs answers in half the time.
"""

import argparse

from .store import TrackingUnavailable, open_store, resolve_uri


def runs_link(base_url, tracking_uri, experiment):
    """The runs-table URL of `experiment` in the UI at base_url, or None if it has no runs yet."""
    from mlflow import MlflowClient  # here: the server imports this module for server_app

    found = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    return f"{base_url}/#/experiments/{found.experiment_id}/runs" if found else None


def server_app():
    """MLflow's tracking server app (FastAPI), what it imported frozen out of the collector's scans;
    uvicorn calls it (a factory) in the server's process."""
    from netlab import collector

    with collector.paused():
        from mlflow.server.fastapi_app import app
    return app


def main(argv=None):
    """Print the UI's address and the runs table of the study."""
    parser = argparse.ArgumentParser(prog="python -m netlab.tracking.ui",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--experiment", default="activations", help="default: the default study")
    args = parser.parse_args(argv)
    try:
        uri = resolve_uri()
        open_store(uri)  # created here, whole: MLflow's server would build a new one in place
    except TrackingUnavailable as error:
        raise SystemExit(f"tracking: {error}") from None
    base = f"http://{args.host}:{args.port}"
    link = runs_link(base, uri, args.experiment)
    print(f"MLflow UI for {uri} at {base} (ready in ~15 s; Ctrl-C stops it)")
    if link:
        print(f"runs of '{args.experiment}': {link}")
    else:
        print(f"no experiment '{args.experiment}' yet: `make sweep` runs the default study")


if __name__ == "__main__":
    main()
