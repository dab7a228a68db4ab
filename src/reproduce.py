"""`python -m src.reproduce RUN_ID`: rerun a logged run from its stored config, into a new run of
the same experiment, and report whether every metric and every weight matches.

Bit for bit is expected on the same machine with the same library versions (the run's versions.*
tags); otherwise values must agree within a relative tolerance of 1e-6 (absolute 1e-9), stated in
the report. Timing metrics (train_time_s, tracking_time_s) are not compared.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from mlflow import MlflowClient
from omegaconf import OmegaConf

from src import tracking
from src.run import tracked_job

UNCOMPARED = {"train_time_s", "tracking_time_s"}
RTOL, ATOL = 1e-6, 1e-9


def compare(a, b, exact):
    """True when arrays a and b match: bit for bit if exact, else within RTOL/ATOL."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if not (np.issubdtype(a.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
        return np.array_equal(a, b)
    if exact:
        return np.array_equal(a, b, equal_nan=True)
    return np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)


def metric_histories(client, run):
    """{metric: [(step, value), …]} of a run, without the timing metrics."""
    return {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in sorted(run.data.metrics) if key not in UNCOMPARED}


def weights(client, run_id):
    """The run's weights.npz as a dict of arrays ({} when it has none, e.g. a diverged run)."""
    if "weights.npz" not in {f.path for f in client.list_artifacts(run_id)}:
        return {}
    with np.load(client.download_artifacts(run_id, "weights.npz"), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def reproduce(run_id, tracking_uri=None):
    """Rerun run_id from its config.yaml into a new run; returns (new run id, mismatches, exact)."""
    client = MlflowClient(tracking.resolve_uri(tracking_uri))
    original = client.get_run(run_id)
    cfg = OmegaConf.create(Path(client.download_artifacts(run_id, "config.yaml")).read_text())
    cfg.mlflow.tracking_uri = client.tracking_uri
    cfg.mlflow.experiment = client.get_experiment(original.info.experiment_id).name
    tags = {"reproduces": run_id, "overrides": original.data.tags.get("overrides", "")}
    tracked_job(cfg, f"reproduce {original.info.run_name}", tags)
    new = client.search_runs([original.info.experiment_id], f"tags.reproduces = '{run_id}'",
                             max_results=1, order_by=["attributes.start_time DESC"])[0]
    same_versions = all(new.data.tags.get(k) == v for k, v in original.data.tags.items()
                        if k.startswith("versions.")) and (
        new.data.tags.get("netlab.host") == original.data.tags.get("netlab.host"))
    mismatches = []
    before, after = metric_histories(client, original), metric_histories(client, new)
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            mismatches.append(f"metric {key}: only in the {'new' if key in after else 'old'} run")
        elif [s for s, _ in before[key]] != [s for s, _ in after[key]] or not compare(
                [v for _, v in before[key]], [v for _, v in after[key]], same_versions):
            mismatches.append(
                f"metric {key}: final {before[key][-1][1]!r} -> {after[key][-1][1]!r}")
    old_w, new_w = weights(client, run_id), weights(client, new.info.run_id)
    for key in sorted(set(old_w) | set(new_w)):
        if key not in old_w or key not in new_w or not compare(old_w[key], new_w[key],
                                                                 same_versions):
            mismatches.append(f"weights {key}: differ")
    return new.info.run_id, mismatches, same_versions


def main(argv=None):
    """Command line entry; exits 0 when everything matches, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m src.reproduce",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("run_id")
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI, else mlruns/")
    args = parser.parse_args(argv)
    try:
        new_id, mismatches, exact = reproduce(args.run_id, args.tracking_uri)
    except tracking.TrackingUnavailable as error:
        raise SystemExit(f"tracking: {error}") from None
    how = ("bit for bit" if exact
           else f"within rtol={RTOL:g}, atol={ATOL:g} (other versions or host)")
    if mismatches:
        print(f"run {new_id} does NOT reproduce {args.run_id} ({how}):")
        print("\n".join(f"  {line}" for line in mismatches))
        return 1
    print(f"run {new_id} reproduces {args.run_id}: every metric and weight matches {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
