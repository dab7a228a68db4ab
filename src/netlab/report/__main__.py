"""`python -m src.report <study>`: a study's runs as one page, report.md with its figures.

Reads the study's runs from the tracking store (resolved as netlab.run does: --tracking-uri, else
MLFLOW_TRACKING_URI, else the project's mlruns/ store), writes report.md with its figures to
experiments/<study>/ (a committed study) or reports/<experiment>/ (any other experiment;
git-ignored) or --out DIR, and logs the same files under `report/` in the sweep's parent run.
"""

import argparse
import shlex
import sys
from pathlib import Path

from netlab.figures.style import DPI, FORMATS, MAX_DPI, MIN_DPI
from netlab.tracking.store import (
    TrackingUnavailable,
    check_existing,
    first_line,
    is_store_error,
    resolve_uri,
)

from .design import parse_baseline
from .output import check_folder, default_folder
from .power import DEFAULT_EFFECT


def parse_args(argv):
    """The command line; `mlflow.tracking_uri=URI` is accepted as in netlab.run."""
    parser = argparse.ArgumentParser(prog="python -m src.report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("study", help="experiment name (e.g. activations, width)")
    parser.add_argument("--tracking-uri",
                        help="default: $MLFLOW_TRACKING_URI, else mlruns/mlflow.db")
    parser.add_argument("--sweep", action="append", metavar="RUN_ID",
                        help="a sweep's parent run id, or 'latest': only that sweep's runs "
                        "(repeatable; default: the runs of the experiment's sweeps comparable "
                        "with the newest one, never a run started on its own)")
    parser.add_argument("--all", action="store_true", dest="every",
                        help="every run of the experiment, runs started on their own included")
    parser.add_argument("--out", help="output folder (default: experiments/<study>/ for a "
                        "committed study, else reports/<experiment>/)")
    parser.add_argument("--no-log", action="store_true",
                        help="do not log the files to the sweep run")
    parser.add_argument("--dpi", type=int, default=DPI, help=f"figure resolution (default {DPI})")
    parser.add_argument("--format", choices=FORMATS, default="png", dest="fmt",
                        help="figure format (default png; the boundary animation stays a GIF)")
    parser.add_argument("--baseline", action="append", metavar="KEY=VALUE",
                        help="compare every configuration with this one (repeatable; default: "
                        "the study file's `baseline:`)")
    parser.add_argument("--effect", type=float, default=DEFAULT_EFFECT, metavar="DIFFERENCE",
                        help="the difference in accuracy to size the seeds for: the report says "
                        f"how many seeds would detect it (default {DEFAULT_EFFECT}, one point)")
    args = []
    for arg in argv:
        if arg.startswith("mlflow.tracking_uri="):
            args += ["--tracking-uri", arg.split("=", 1)[1]]
        else:
            args.append(arg)
    return parser.parse_args(args)


def scope(args):
    """The runs asked for: None (the default), 'all', or the sweeps named (ValueError when both;
    `--sweep all`, the older spelling of --all, is kept)."""
    named = list(dict.fromkeys(args.sweep or []))
    every = args.every or "all" in named
    named = [s for s in named if s != "all"]
    if every and named:
        raise ValueError("--all and --sweep RUN_ID exclude each other: --all takes every run, "
                         "--sweep only the sweeps named")
    return "all" if every else named or None


def main(argv=None):
    """Entry point: build the report, print where it went (errors as one line, exit status 1).

    What can be checked without reading the runs (the options, the output folder, that the store
    exists and answers) is checked before the report's libraries are imported: in under a second.
    """
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    uri = None
    try:
        if not MIN_DPI <= args.dpi <= MAX_DPI:
            raise ValueError(f"--dpi must be between {MIN_DPI} and {MAX_DPI}, got {args.dpi}")
        if not 0 < args.effect < 1:
            raise ValueError(f"--effect must be a difference in accuracy between 0 and 1 "
                             f"(0.01 is one point), got {args.effect:g}")
        baseline = parse_baseline(args.baseline)
        sweep = scope(args)
        check_folder(default_folder(args.study) if args.out is None else Path(args.out))
        uri = resolve_uri(args.tracking_uri)
        check_existing(uri)
        from .build import build  # matplotlib, MLflow, pandas: only now
        path, study = build(args.study, args.tracking_uri, args.out, sweep,
                            log=not args.no_log, dpi=args.dpi, fmt=args.fmt, baseline=baseline,
                            effect=args.effect,
                            command=shlex.join(["python", "-m", "src.report", *argv]))
    except (LookupError, ValueError, TrackingUnavailable, OSError) as error:
        raise SystemExit(f"report: {first_line(error)}") from None
    except MemoryError:
        raise SystemExit(f"report: out of memory drawing the figures at --dpi {args.dpi}") \
            from None
    except Exception as error:
        if not is_store_error(error):
            raise
        raise SystemExit(f"report: store {uri}: {first_line(error)}") from None
    where = (f"; logged under report/ in run {study.parent.info.run_id}"
             if study.parent is not None and not args.no_log else "")
    print(f"report: {path} ({len(study.runs)} runs){where}")


if __name__ == "__main__":
    main()
