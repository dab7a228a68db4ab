"""`python -m src.export STUDY`: every run of a study as one Parquet file, a row per run.

Writes exports/<study>.parquet (or --out FILE) and logs it under export/ in the sweep's parent run.
Reads the store as the report does (--tracking-uri, else MLFLOW_TRACKING_URI, else the project's
mlruns/ store); a run that ended before the previous export is taken from that file.
"""

import argparse
import sys
import time
from pathlib import Path

from netlab.tracking.store import (
    TrackingUnavailable,
    first_line,
    is_store_error,
    open_existing,
    resolve_uri,
)


def main(argv=None):
    """Entry point: write the table, print where it went (errors as one line, exit status 1)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m src.export",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("study", help="experiment name (e.g. activations, width)")
    parser.add_argument("--tracking-uri",
                        help="default: $MLFLOW_TRACKING_URI, else mlruns/mlflow.db")
    parser.add_argument("--out", help="the Parquet file (default: exports/<study>.parquet)")
    parser.add_argument("--no-log", action="store_true",
                        help="do not log the file to the sweep's parent run")
    args = parser.parse_args(argv)
    uri = None
    started = time.perf_counter()
    try:
        out = Path(args.out) if args.out else None
        if out is not None and out.is_dir():
            raise IsADirectoryError(f"--out {out} is a folder: name the file to write")
        uri = resolve_uri(args.tracking_uri)
        client = open_existing(uri)
        from .table import export, n_curves, with_curves  # pandas, pyarrow: only now

        path, runs, n_read, parent = export(client, args.study, out, log=not args.no_log)
    except (LookupError, ValueError, TrackingUnavailable, OSError) as error:
        raise SystemExit(f"export: {first_line(error)}") from None
    except Exception as error:
        if not is_store_error(error):
            raise
        raise SystemExit(f"export: store {uri}: {first_line(error)}") from None
    logged = f"; logged under export/ in run {parent}" if parent else ""
    reused = with_curves(runs) - n_read
    try:  # where it went, from here if it is under here
        path = path.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    print(f"export: {path} ({len(runs)} runs, {n_curves(runs)} curves: {n_read} runs' read from "
          f"the store{f', {reused} from the last export' if reused else ''}; "
          f"{time.perf_counter() - started:.1f} s){logged}")


if __name__ == "__main__":
    main()
