"""A sweep's parent run: opened (or an interrupted sweep's resumed) before the first job, summarised
and closed after the last. Knows MLflow only: the Hydra glue (netlab.hydra_glue) hands it plain
values.
"""

import time

from mlflow.entities import Metric, Param, RunTag

from netlab.interrupts import held

from .logger import UNENDED, command_line, environment_tags, flatten, param_text, short
from .store import (
    TrackingUnavailable,
    end_run,
    end_unended_runs,
    first_line,
    mark_stale_runs_killed,
    process_tags,
)

SWEEP_ROLE = "sweep"


@held()  # never cut in half by an interrupt (netlab.interrupts)
def open_parent(client, experiment_id, name, sweep_hash, params=None, tags=None, resume=True):
    """Open the sweep's parent run, or resume the newest one with the same sweep_hash (a rerun of
    an interrupted or finished sweep); returns (parent run id, resumed)."""
    tags = {**environment_tags(), **process_tags(), "command": command_line(),
            "netlab.role": SWEEP_ROLE, "sweep_hash": sweep_hash, **(tags or {})}
    tags = [RunTag(k, short(v)) for k, v in tags.items()]
    previous = None
    if resume:
        found = client.search_runs([experiment_id], f"tags.sweep_hash = '{sweep_hash}'",
                                   max_results=1, order_by=["attributes.start_time DESC"])
        previous = found[0] if found else None
    if previous is not None:
        parent = previous.info.run_id
        client.update_run(parent, status="RUNNING")
        client.log_batch(parent, tags=tags)
        for key in ("error", "killed_reason"):  # why the last attempt ended: no longer true
            if key in previous.data.tags:
                client.delete_tag(parent, key)
        return parent, True
    parent = client.create_run(experiment_id, run_name=name).info.run_id
    logged = [Param(k, short(param_text(v), 6000)) for k, v in flatten(params or {}).items()]
    for i in range(0, max(len(logged), 1), 100):
        client.log_batch(parent, params=logged[i : i + 100], tags=tags if i == 0 else [])
    return parent, False


def children(client, parent, status=None):
    """The child runs of a sweep's parent run (those with `status` only, if given), newest
    first."""
    experiment_id = client.get_run(parent).info.experiment_id
    query = f"tags.mlflow.parentRunId = '{parent}'" + (
        f" and attributes.status = '{status}'" if status else "")
    return client.search_runs([experiment_id], query, max_results=50000,
                              order_by=["attributes.start_time DESC"])


def _experiment_of(client, parent, runs):
    """The experiment id of a sweep: its runs', else its parent run's."""
    return runs[0].info.experiment_id if runs else client.get_run(parent).info.experiment_id


@held()
def settle_children(client, parent, runs, interrupted=None):
    """runs, the child runs of a sweep's parent, once those left RUNNING by a process that died (a
    killed worker) are marked KILLED; after an interrupt (`interrupted`: its reason), this
    process's too, else this process's are ended FAILED (their end was refused: a full disk). Read
    again only if any was marked."""
    experiment_id, where = _experiment_of(client, parent, runs), \
        f" and tags.mlflow.parentRunId = '{parent}'"
    stale = mark_stale_runs_killed(client, experiment_id,
                                   interrupted or "its process died during the sweep",
                                   own=interrupted is not None, where=where)
    if interrupted is None:  # every job of this process has returned: its runs have ended
        stale += end_unended_runs(client, experiment_id, where)
    return children(client, parent) if stale else runs


@held()
def close_parent(client, parent, runs, status="FINISHED", expected=None, since=0, seconds=0.0,
                 error=None):
    """Summarise the sweep in its parent run and end it with status; returns the summary text.

    expected: [(config_hash, label)] of every run the sweep asked for (when known in advance);
    runs: its child runs (settle_children); since: when this attempt of the sweep started (ms): a
    configuration whose FINISHED run (in this sweep or any other of the experiment) started before
    was skipped. error: why the sweep stopped, as the parent's `error` tag. If the summary cannot
    be written, the parent still ends (FAILED, saying why) and TrackingUnavailable says what went
    wrong.
    """
    t0 = time.perf_counter()
    experiment_id = _experiment_of(client, parent, runs)
    now = [r for r in runs if r.info.start_time >= since]
    asked = dict(reversed(expected or []))  # config_hash -> its first label
    duplicates = len(expected or []) - len(asked)
    skipped = {r.data.tags.get("config_hash"): r.info.run_id for r in runs
               if r.info.start_time < since and r.info.status == "FINISHED"}
    done_now = {r.data.tags.get("config_hash") for r in now if r.info.status == "FINISHED"}
    for chash in sorted(set(asked) - done_now - set(skipped)):
        found = client.search_runs(
            [experiment_id], f"tags.config_hash = '{chash}' and attributes.status = 'FINISHED' "
            f"and attributes.start_time < {since}", max_results=1)
        if found:
            skipped[chash] = found[0].info.run_id
    if expected:
        skipped = {k: v for k, v in skipped.items() if k in asked}
    text = summary(now, skipped, asked, duplicates)
    counts = {"n_runs": len(now), "n_skipped": len(skipped) + duplicates}
    for state in ("FINISHED", "FAILED", "KILLED"):
        counts[f"n_{state.lower()}"] = sum(r.info.status == state for r in now)
    counts["n_diverged"] = sum(r.data.tags.get("diverged") == "true" for r in now)
    accuracies = [r.data.metrics["val_accuracy"] for r in runs
                  if r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics]
    if accuracies:
        counts["best_val_accuracy"] = max(accuracies)
    try:
        client.log_text(parent, text, "summary.txt")
        if error:
            client.set_tag(parent, "error", short(error, 500))
        counts["tracking_time_s"] = seconds + time.perf_counter() - t0
        stamp = int(time.time() * 1000)
        client.log_batch(parent, metrics=[Metric(k, float(v), stamp, 0)
                                          for k, v in counts.items()])
        client.set_terminated(parent, status)
    except Exception as e:  # noqa: BLE001 - the parent must not be left RUNNING
        why = short(f"could not write the sweep's summary: {type(e).__name__}: {first_line(e)}",
                    500)
        try:  # ended before why is tagged: a full disk may take one write, not two
            end_run(client, parent, "FAILED", ("error", why))
        except Exception:  # noqa: BLE001 - its process gone, the next command marks it KILLED
            why += f"; {UNENDED}"
        raise TrackingUnavailable(f"sweep run {parent} FAILED: {why}") from None
    return text


def summary(runs, skipped=None, asked=None, duplicates=0):
    """A few lines: this attempt's runs by status and what it skipped, then each configuration
    that did not finish (and, when the sweep's configurations are known, any without a run)."""
    skipped = skipped or {}
    by_status = {}
    for run in runs:
        by_status[run.info.status] = by_status.get(run.info.status, 0) + 1
    counts = ", ".join(f"{n} {status.lower()}" for status, n in sorted(by_status.items()))
    head = f"sweep summary: {len(runs)} runs ({counts or 'none'})"
    reasons = [f"{len(skipped)} finished before"] if skipped else []
    if duplicates:
        reasons.append(f"{duplicates} the same training as another job (normalised keys)")
    if reasons:
        head += f", {len(skipped) + duplicates} skipped: " + ", ".join(reasons)
    lines = [head]
    done = {r.data.tags.get("config_hash") for r in runs if r.info.status == "FINISHED"}
    for run in sorted(runs, key=lambda r: r.info.run_name or ""):
        if run.info.status == "FINISHED":
            continue
        if run.data.tags.get("config_hash") in done:
            lines.append(f"  {run.info.status:8} {run.info.run_name}: rerun since, FINISHED")
            continue
        tags = run.data.tags
        why = (f"diverged: {tags.get('diverged_reason') or 'at epoch ' + tags['diverged_epoch']}"
               if tags.get("diverged") == "true"
               else tags.get("error") or tags.get("killed_reason") or "")
        lines.append(f"  {run.info.status:8} {run.info.run_name}: {why}")
    if asked:
        tried = {r.data.tags.get("config_hash") for r in runs}
        missing = [label for chash, label in asked.items()
                   if chash not in tried and chash not in skipped]
        if missing:
            lines.append(f"  {len(missing)} configurations have no run: " + "; ".join(missing[:10])
                         + (" …" if len(missing) > 10 else ""))
    return "\n".join(lines)
