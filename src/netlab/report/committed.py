"""`python -m netlab.report.committed` (`make reports`): every committed study's report, made again
from its study rerun by today's training code; with `--check`, which reports today's training code
did not make.

A committed study is experiments/<study>.yaml with its report in experiments/<study>/. The report
states the content hash of the training code its runs were made by (identity.code_hash, the runs'
`code_hash` tag), and its manifest records it. Once the training code changes, a report's numbers
may move: `--check` (run by the test suite, so CI fails on a stale report) names each report made
by other code, and the command without it reruns each study into a store of its own, made afresh
(mlruns/committed/, so no run of older code is mixed in), then writes its report.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from netlab.identity import code_hash
from netlab.paths import PROJECT_ROOT

from .output import MANIFEST

EXPERIMENTS = PROJECT_ROOT / "experiments"
STORE = PROJECT_ROOT / "mlruns" / "committed" / "mlflow.db"
COMMAND = "make reports"


def studies():
    """The committed studies whose reports are committed, sorted: names of experiments/*.yaml."""
    return sorted(path.stem for path in EXPERIMENTS.glob("*.yaml")
                  if (EXPERIMENTS / path.stem / MANIFEST).is_file())


def made_by(study):
    """The training-code hashes a committed report's manifest records ([] if none)."""
    manifest = json.loads((EXPERIMENTS / study / MANIFEST).read_text())
    return list(manifest.get("training_code") or [])


def stale():
    """[(study, the hashes its report was made by)] for reports today's training code did not
    make alone."""
    today = code_hash()
    return [(study, hashes) for study in studies() if (hashes := made_by(study)) != [today]]


def regenerate(names, jobs=1):
    """Rerun each study into a new store of its own, then write its report in experiments/."""
    from netlab.report.build import build

    uri = f"sqlite:///{STORE}"
    shutil.rmtree(STORE.parent, ignore_errors=True)
    # --jobs 1: one job after another (NETLAB_WORKERS: the grid sweeper's default; Optuna's
    # trials run one after another anyway)
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"] if jobs > 1 else []
    env = {**os.environ, **({} if jobs > 1 else {"NETLAB_WORKERS": "1"})}
    with tempfile.TemporaryDirectory(prefix="netlab-reports-") as outputs:
        for study in names:
            print(f"{COMMAND}: {study}: its sweep", flush=True)
            subprocess.run([sys.executable, "-m", "src.run", "-m", f"+experiment={study}",
                            f"mlflow.tracking_uri={uri}", f"hydra.sweep.dir={outputs}/{study}",
                            *launcher], cwd=PROJECT_ROOT, env=env, check=True)
            path, _ = build(study, tracking_uri=uri, command=COMMAND)
            print(f"{COMMAND}: {study}: {path.relative_to(PROJECT_ROOT)}", flush=True)


def main(argv=None):
    """Regenerate the committed reports, or with --check say which are stale (exit status 1)."""
    parser = argparse.ArgumentParser(prog="python -m netlab.report.committed",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only say which reports today's training code did not make")
    parser.add_argument("--jobs", type=int, default=1,
                        help="sweep with this many joblib workers (results are the same)")
    parser.add_argument("study", nargs="*", help=f"only these (default: all of {studies()})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.study) - set(studies()))
    if unknown:
        raise SystemExit(f"{COMMAND}: no committed study {', '.join(unknown)}; "
                         f"committed: {', '.join(studies())}")
    if args.check:
        old = [(s, h) for s, h in stale() if not args.study or s in args.study]
        for study, hashes in old:
            print(f"experiments/{study}/report.md was made by training code "
                  f"{', '.join(h[:10] for h in hashes) or 'not recorded'}, not today's "
                  f"{code_hash()[:10]}: `{COMMAND}` makes it again")
        raise SystemExit(1 if old else 0)
    regenerate(args.study or studies(), jobs=args.jobs)


if __name__ == "__main__":
    main()
