"""The comparison page of runs named by id prefixes (netlab.compare): find them, draw them, write
compare.md with its figures.
"""

import shlex
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType

from netlab.figures import run_plots, study_plots
from netlab.figures.style import DPI, label
from netlab.paths import PROJECT_ROOT
from netlab.report import boundaries
from netlab.report.build import Saver
from netlab.report.histories import history
from netlab.report.output import Output
from netlab.report.study import CONTROL, DATASET, _typed_runs, parse_value
from netlab.report.text import fmt, table
from netlab.tracking.store import open_existing, resolve_uri

CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")
PROVENANCE = ("git_commit", "git_dirty", "code_hash", "data_hash", "config_hash")


def find_runs(uri, prefixes):
    """The runs named by unique id prefixes, as the report's table (one row each, in order)."""
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    ids = []
    for prefix in prefixes:
        if not prefix or any(c not in "0123456789abcdef" for c in prefix.lower()):
            raise LookupError(f"{prefix!r} is not a run id (hex digits)")
        found = client.search_runs(experiments, f"attributes.run_id LIKE '{prefix.lower()}%'",
                                   run_view_type=ViewType.ALL, max_results=3)
        if not found:
            raise LookupError(f"no run id starts with {prefix!r} in {uri}")
        if len(found) > 1:
            raise LookupError(f"{prefix!r} is ambiguous: runs {found[0].info.run_id[:12]}…, "
                              f"{found[1].info.run_id[:12]}…; give more characters")
        ids.append(found[0].info.run_id)
    if len(set(ids)) < len(ids):
        raise LookupError("the same run is named twice")
    mlflow.set_tracking_uri(uri)
    quoted = ", ".join(f"'{i}'" for i in ids)
    runs = mlflow.search_runs(experiments, f"attributes.run_id IN ({quoted})",
                              run_view_type=ViewType.ALL, output_format="pandas")
    runs = _typed_runs(runs.set_index("run_id", drop=False).loc[ids].reset_index(drop=True))
    names = {e.experiment_id: e.name for e in client.search_experiments(view_type=ViewType.ALL)}
    runs["experiment"] = runs["experiment_id"].map(names)
    return runs


def short_id(run_id):
    """The 8 characters the reports print."""
    return run_id[:8]


def differing_keys(runs):
    """The params whose values differ between the runs (a dataset's own keys only when the
    dataset is the same)."""
    keys = [c[len("params."):] for c in sorted(runs.columns) if c.startswith("params.")
            and runs[c].fillna("—").nunique() > 1]
    if DATASET in keys:
        keys = [DATASET] + [k for k in keys if not k.startswith("dataset.")]
    return keys


def run_label(row, keys, limit=44):
    """A run as a legend or panel shows it: its short id and the values that set it apart."""
    values = " ".join((k.rsplit(".", 1)[-1] + " " if k != DATASET else "")
                      + label(parse_value(row["params." + k]))
                      for k in keys if isinstance(row["params." + k], str))
    text = f"{short_id(row['run_id'])} {values}".strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parameters(runs):
    """Markdown: every param as a row, one column per run; rows that differ first, in bold."""
    keys = sorted(c[len("params."):] for c in runs.columns if c.startswith("params.")
                  and c[len("params."):] not in CONTROL and not c.startswith("params.mlflow."))
    rows = []
    for key in keys:
        values = [label(parse_value(v)) if isinstance(v, str) else "—"
                  for v in runs["params." + key]]
        rows.append((len(set(values)) > 1, key, values))
    rows.sort(key=lambda r: (not r[0], r[1]))
    header = "| parameter | " + " | ".join(f"`{short_id(r)}`" for r in runs["run_id"]) + " |"
    lines = [header, "|" + "---|" * (len(runs) + 1)]
    for differs, key, values in rows:
        cells = [f"**{v}**" if differs else v for v in values]
        lines.append(f"| {'**' + key + '**' if differs else key} | " + " | ".join(cells) + " |")
    n = sum(d for d, _, _ in rows)
    intro = (f"{n} of {len(rows)} parameters differ (in bold, listed first)." if n else
             "Every parameter is the same: the runs differ only in what is not a parameter "
             "(code, data, the machine).")
    return intro + "\n\n" + "\n".join(lines)


def provenance(runs):
    """Markdown: the runs' code and data tags, and a note when they differ."""
    lines = ["| tag | " + " | ".join(f"`{short_id(r)}`" for r in runs["run_id"]) + " |",
             "|" + "---|" * (len(runs) + 1)]
    notes = []
    for tag in PROVENANCE:
        column = runs.get(f"tags.{tag}")
        if column is None or column.isna().all():
            continue
        values = [str(v)[:12] if isinstance(v, str) else "—" for v in column]
        lines.append(f"| {tag} | " + " | ".join(values) + " |")
        if len(set(values)) > 1 and tag in ("git_commit", "code_hash", "data_hash"):
            notes.append(tag)
    text = "\n".join(lines)
    if notes:
        text += (f"\n\n**The runs differ in {', '.join(notes)}**: part of any difference may "
                 "come from the code or the data, not the parameters.")
    return text


def build(prefixes, tracking_uri=None, out=None, dpi=DPI, fmt_="png", command=None):
    """Write the comparison page; returns (path of compare.md, runs)."""
    uri = resolve_uri(tracking_uri)
    open_existing(uri)  # never created or changed here: a mistyped path is an error
    runs = find_runs(uri, prefixes)
    client = MlflowClient(uri)
    folder = (Path(out) if out else PROJECT_ROOT / "reports" / "compare" /
              "-".join(short_id(r) for r in runs["run_id"]))
    summary = table(runs, {
        "run": lambda r: f"`{short_id(r['run_id'])}`", "experiment": "experiment",
        "name": lambda r: str(r.get("tags.mlflow.runName") or "—"),
        "status": "status_text", "val accuracy": "val_accuracy", "test accuracy": "test_accuracy",
        "train accuracy": "train_accuracy", "epochs": lambda r: fmt(r["epochs_run"], 0),
        "time s": lambda r: fmt(r["train_time_s"], 2)})
    command = command or shlex.join(["python", "-m", "src.compare", *prefixes])
    with Output(folder) as output:
        save = Saver(output, fmt_, dpi)
        figures = []
        differing = differing_keys(runs)
        curves = {run_label(r, differing): history(client, r["run_id"], CURVES)
                  for _, r in runs.iterrows()}
        frames = {}
        for name, h in curves.items():
            frames[name] = h.rename(columns={c: f"{c}_mean" for c in CURVES}).assign(
                **{f"{c}_{s}": float("nan") for c in CURVES for s in ("low", "high")})
        fig = study_plots.mean_curves([(None, frames)], "learning curves")
        figures.append((save(fig, "learning_curves"), "Learning curves of each run (validation "
                        "solid, training dashed; loss on a log scale)."))
        cells, tiles = [], []
        for _, row in runs.iterrows():
            snap, source = boundaries.boundary_of(client, row)
            title = f"{run_label(row, differing)}\nval {fmt(row['val_accuracy'])}"
            if source != "not 2-D":
                cells.append((title, snap, source if snap is None else None))
            found = boundaries.rebuilt(client, row) if source != "not 2-D" else None
            if found is not None and found[1].is_2d:
                image = run_plots.hidden_units(found[0], found[1].X_train, found[1].y_train)
                if image is not None:
                    tiles.append((title.replace("\n", " — "), image))
        if any(snap is not None for _, snap, _ in cells):
            fig = study_plots.boundary_grid(cells, "decision boundaries", ncols=min(len(cells), 4))
            figures.append((save(fig, "decision_boundaries"), "Each run's decision boundary after "
                            "training over its training points (class 0 orange, class 1 blue)."))
        if tiles:
            fig = study_plots.image_rows(tiles, "what each hidden unit computes", dpi=dpi)
            figures.append((save(fig, "hidden_units"), "Each run's hidden units over the input "
                            "plane (one tile per unit, a row per hidden layer), then its output."))
        parts = [f"# Runs compared: {', '.join(short_id(r) for r in runs['run_id'])}",
                 "## Runs\n\n" + summary, "## Parameters\n\n" + parameters(runs),
                 "## Code and data\n\n" + provenance(runs),
                 "## Figures\n\n" + "\n\n".join(f"![{n}]({n})\n\n{c}" for n, c in figures),
                 f"---\nGenerated from `{uri}` by `{command}`."]
        output.file("compare.md").write_text("\n\n".join(parts) + "\n")
        output.close(command)
    path = output.folder / "compare.md"
    return path, runs
