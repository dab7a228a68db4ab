"""`python -m src.compare RUN RUN …`: the command line of netlab.compare (the page is page.py).

What can be checked without reading the runs (the options, the output folder, that the store
exists and answers) is checked before the page's libraries are imported: in under a second.
"""

import argparse
import shlex
import sys
from pathlib import Path

from netlab.figures.style import DPI, FORMATS, MAX_DPI, MIN_DPI
from netlab.report.output import check_folder
from netlab.tracking.store import (
    TrackingUnavailable,
    check_existing,
    first_line,
    is_store_error,
    resolve_uri,
)

from . import __doc__ as DESCRIPTION


def main(argv=None):
    """Entry point: compare the runs, print where the page went (errors as one line, exit 1)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m src.compare",
                                     description=DESCRIPTION.split("\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run ids or unique prefixes")
    parser.add_argument("--tracking-uri",
                        help="default: $MLFLOW_TRACKING_URI, else mlruns/mlflow.db")
    parser.add_argument("--out", help="output folder (default: reports/compare/<ids>/)")
    parser.add_argument("--dpi", type=int, default=DPI,
                        help=f"figure resolution, {MIN_DPI}-{MAX_DPI} (default {DPI})")
    parser.add_argument("--format", choices=FORMATS, default="png", dest="fmt")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        raise SystemExit("compare: name at least two runs")
    uri = None
    try:
        if not MIN_DPI <= args.dpi <= MAX_DPI:
            raise ValueError(f"--dpi must be between {MIN_DPI} and {MAX_DPI}, got {args.dpi}")
        if args.out is not None:
            check_folder(Path(args.out))
        uri = resolve_uri(args.tracking_uri)
        check_existing(uri)
        from .page import build  # matplotlib, MLflow, pandas: only now
        path, runs = build(args.runs, args.tracking_uri, args.out, args.dpi, args.fmt,
                           shlex.join(["python", "-m", "src.compare", *argv]))
    except (LookupError, ValueError, TrackingUnavailable, OSError) as error:
        raise SystemExit(f"compare: {first_line(error)}") from None
    except MemoryError:
        raise SystemExit(f"compare: out of memory drawing the figures at --dpi {args.dpi}") \
            from None
    except Exception as error:
        if not is_store_error(error):
            raise
        raise SystemExit(f"compare: store {uri}: {first_line(error)}") from None
    print(f"compare: {path} ({len(runs)} runs)")


if __name__ == "__main__":
    main()
