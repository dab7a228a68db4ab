"""What the MLflow UI shows beside a study's runs, as MLflow notes (Markdown, `mlflow.note.content`
tag): the experiment's description (its question, the command that ran it, how to read the runs,
where its report is) and the sweep's parent-run summary (each configuration's mean validation and
test accuracy with its 95 % interval over seeds, and its runs by status).
"""

import re

NOTE = "mlflow.note.content"
_SEED = re.compile(r"(^| · )seed \d+$")


def experiment_note(experiment, command, swept, question=None, parent_link=None):
    """The experiment's description: question, command, how to read the runs, the report."""
    lines = [f"**Question.** {question}" if question else f"**Study** `{experiment}`.", "",
             f"**Ran with** `{command}`", ""]
    grouping = ", ".join(f"`{k}`" for k in swept if k != "seed") or "a swept key"
    lines += [
        "**How to read the runs.** Each sweep is a parent run (the study and its time); expand it "
        "(⊞) to see one child run per job and seed, named by its swept values. Its params hold the "
        "grid (`sweep.*`) and every fixed value, its note the summary table over seeds. "
        f"Group the table by {grouping} (*Group by* above the table), then open the *Chart* view "
        "of `val_accuracy`; a grid reads best as *Parallel coordinates*. A 2-D run's *Artifacts* "
        "hold its decision boundary and hidden units, and its `decision_boundary` images scrub "
        "through training with a step slider.", ""]
    report = f"`python -m src.report {experiment}`"
    if parent_link:
        report += (f" writes the study's report and logs it into the sweep run: "
                   f"[its report/ artifacts]({parent_link})")
    lines.append(f"**Report.** {report}.")
    return "\n".join(lines)


def _label(run):
    return _SEED.sub("", run.info.run_name or "").strip(" ·") or "(this configuration)"


def _interval(values):
    """The 95 % t interval of values (scipy.stats, imported here: a slow import that a sweep's
    start, which writes only the experiment's note, does not need)."""
    from . import stats

    return stats.interval(values)


def _cell(values):
    found = _interval(values)
    if found.n == 0:
        return "–"
    if found.n == 1:
        return f"{found.mean:.3f}"
    return f"{found.mean:.3f} [{found.low:.3f}, {found.high:.3f}]"


def parent_note(children, heading):
    """The sweep run's note: heading, then one row per configuration (its seeds pooled): n, mean
    val and test accuracy [the 95 % t interval], runs by status."""
    groups = {}
    for run in children:
        key = run.data.tags.get("group_hash") or run.info.run_id
        groups.setdefault(key, []).append(run)
    rows = []
    for runs in groups.values():
        done = [r for r in runs if r.info.status == "FINISHED"]
        statuses = {}
        for r in runs:
            statuses[r.info.status.lower()] = statuses.get(r.info.status.lower(), 0) + 1
        val = [r.data.metrics.get("val_accuracy", float("nan")) for r in done]
        test = [r.data.metrics.get("test_accuracy", float("nan")) for r in done]
        mean = _interval(val).mean if done else float("-inf")
        rows.append((mean, f"| {_label(runs[0])} | {len(done)} | {_cell(val)} | {_cell(test)} | "
                           + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + " |"))
    rows.sort(key=lambda row: -row[0] if row[0] == row[0] else float("inf"))
    table = ["| configuration | n | val accuracy | test accuracy | runs |", "|---|---|---|---|---|",
             *(row for _, row in rows)]
    return "\n".join([heading, "", *table, "",
                      "Mean over the seeds of each configuration [its 95 % confidence interval, "
                      "Student's t (scipy)]; best validation accuracy first."])
