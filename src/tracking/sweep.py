"""A sweep's parent run: prepared, opened or resumed before the first job, summarised and closed
after the last (src.tracking.callbacks calls these from Hydra)."""

import sys
import time

from mlflow.entities import Metric, RunStatus, RunTag
from omegaconf import OmegaConf

from .logger import command_line, config_hash, environment_tags, experiment_name
from .store import (
    get_or_create_experiment,
    mark_stale_runs_killed,
    open_store,
    process_tags,
    resolve_uri,
)


def experiment_of(config):
    """The experiment of a config composed with its hydra node (mlflow.experiment or the study)."""
    study = OmegaConf.select(config, "hydra.runtime.choices.experiment", default=None)
    return experiment_name(config.mlflow.get("experiment"), study)


def prepare(config):
    """Open (create/upgrade) config.mlflow's store, mark stale runs KILLED: (client, exp id)."""
    client = open_store(resolve_uri(config.mlflow.get("tracking_uri")))
    experiment_id = get_or_create_experiment(client, experiment_of(config))
    stale = mark_stale_runs_killed(client, experiment_id)
    if stale:
        print(f"tracking: marked {len(stale)} run(s) left RUNNING by a dead process as KILLED",
              file=sys.stderr)
    return client, experiment_id


def sweep_overrides(config):
    """The overrides of the sweep command, without the tracking switches."""
    return [o for o in OmegaConf.select(config, "hydra.overrides.task", default=[]) or []
            if not o.lstrip("+").startswith(("force=", "mlflow."))]


def open_parent(config):
    """Prepare the store; open the sweep's parent run, or resume the newest one of the same sweep
    (unless +force=true). Returns (client, parent run id)."""
    client, experiment_id = prepare(config)
    overrides = sweep_overrides(config)
    params = OmegaConf.to_container(config.hydra.sweeper, resolve=True).get("params") or {}
    sweep_hash = config_hash({"overrides": sorted(overrides), "params": params})
    name = " ".join([experiment_of(config),
                     *(o for o in overrides if not o.startswith("+experiment="))])
    tags = {**environment_tags(), **process_tags(), "command": command_line(),
            "netlab.role": "sweep", "sweep_hash": sweep_hash, "overrides": " ".join(overrides)}
    previous = None
    if not config.get("force", False):
        found = client.search_runs(
            [experiment_id], f"tags.sweep_hash = '{sweep_hash}'", max_results=1,
            order_by=["attributes.start_time DESC"])
        previous = found[0] if found else None
    if previous is not None:
        parent_run_id = previous.info.run_id
        client.update_run(parent_run_id, status="RUNNING")
        client.log_batch(parent_run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
        print(f"tracking: resuming sweep run {parent_run_id} ({name}) in "
              f"{client.tracking_uri}", file=sys.stderr)
    else:
        run = client.create_run(experiment_id, run_name=name, tags=tags)
        parent_run_id = run.info.run_id
        print(f"tracking: sweep run {parent_run_id} ({name}) in {client.tracking_uri}",
              file=sys.stderr)
    return client, parent_run_id


def close_parent(client, parent, seconds=0.0):
    """Summarise the sweep's child runs on the terminal and in the parent run, and end it FINISHED;
    seconds: tracking time already spent on the sweep (added to the parent's tracking_time_s)."""
    t0 = time.perf_counter()
    experiment_id = client.get_run(parent).info.experiment_id
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'",
                                  max_results=50000)
    text = summary(children)
    where = (f"{client.tracking_uri}/#/experiments/{experiment_id}/runs"
             if client.tracking_uri.startswith("http") else "`make ui` prints the link")
    print(f"{text}\nruns: {where}", file=sys.stderr)
    client.log_text(parent, text, "summary.txt")
    counts = {"n_runs": len(children)}
    for status in ("FINISHED", "FAILED", "KILLED"):
        counts[f"n_{status.lower()}"] = sum(r.info.status == status for r in children)
    counts["n_diverged"] = sum(r.data.tags.get("diverged") == "true" for r in children)
    accuracies = [r.data.metrics["val_accuracy"] for r in children
                  if r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics]
    if accuracies:
        counts["best_val_accuracy"] = max(accuracies)
    counts["tracking_time_s"] = seconds + time.perf_counter() - t0
    client.log_batch(parent, metrics=[Metric(k, float(v), 0, 0) for k, v in counts.items()])
    client.set_terminated(parent, RunStatus.to_string(RunStatus.FINISHED))


def summary(runs):
    """A few lines: counts by status, then each run that did not finish and why."""
    by_status = {}
    for run in runs:
        by_status[run.info.status] = by_status.get(run.info.status, 0) + 1
    counts = ", ".join(f"{n} {status.lower()}" for status, n in sorted(by_status.items()))
    lines = [f"sweep summary: {len(runs)} runs ({counts or 'none'})"]
    done = {r.data.tags.get("config_hash") for r in runs if r.info.status == "FINISHED"}
    for run in sorted(runs, key=lambda r: r.info.run_name or ""):
        if run.info.status == "FINISHED":
            continue
        if run.data.tags.get("config_hash") in done:
            lines.append(f"  {run.info.status:8} {run.info.run_name}: rerun since, FINISHED")
            continue
        tags = run.data.tags
        why = (f"diverged at epoch {tags.get('diverged_epoch')}" if tags.get("diverged") == "true"
               else tags.get("error") or tags.get("killed_reason") or "")
        lines.append(f"  {run.info.status:8} {run.info.run_name}: {why}")
    return "\n".join(lines)
