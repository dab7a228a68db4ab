"""Runs seen over their input plane: decision boundaries (the run's boundaries.npz, else rebuilt
from weights.npz), the boundary grid and GIF of a study, and its hidden units' tiles.

For a run without boundaries.npz the final boundary is rebuilt: the dataset regenerated from the
run's params exactly as the run made it (the experiment's seeds and loader), the network read from
weights.npz.
"""

import tempfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from mlflow.exceptions import MlflowException
from omegaconf import OmegaConf

from netlab import snapshots
from netlab.figures import run_plots, study_plots
from netlab.figures.style import label

from .study import DATA_SEED, DATASET, SEED, parse_value
from .text import count, mean_ci, short

MAX_PANELS = 36
MAX_TILE_ROWS = 8


def artifact(client, run_id, name, read, artifact_uri=None):
    """read(path) of a run's artifact `name`, or None when the run has no such file.

    Artifacts in a local folder (file:// URIs, as beside a SQLite store) are read in place;
    others are downloaded to a temporary folder first.
    """
    if isinstance(artifact_uri, str) and artifact_uri.startswith("file://"):
        path = Path(urlparse(artifact_uri).path) / name
        return read(path) if path.is_file() else None
    with tempfile.TemporaryDirectory(prefix="netlab-report-") as folder:
        try:
            path = client.download_artifacts(run_id, name, folder)
        except (MlflowException, OSError):
            return None
        return read(Path(path)) if Path(path).is_file() else None


def params_of(row):
    """A run's params {key: str} from its row of the study's table."""
    return {c[len("params."):]: v for c, v in row.items() if c.startswith("params.")}


def dataset_of(params):
    """The dataset a run trained on (a netlab.data.Dataset), remade from its params {key: str}."""
    from netlab.experiment import derive_seeds, load_data  # the run's own split and seeds

    dataset = {k[len("dataset."):]: parse_value(v) for k, v in params.items()
               if k.startswith("dataset.") and isinstance(v, str)}  # NaN: another dataset's key
    seed = parse_value(params.get(SEED, 0))
    # as training drew it: the stream derive_seeds makes of data_seed, or of seed when null
    data_seed, _ = derive_seeds(seed, parse_value(params.get(DATA_SEED)))
    return load_data(OmegaConf.create({"dataset": dataset}), data_seed)


def rebuilt(client, row, resolution=80):
    """(network, dataset) of a finished run from weights.npz and its params; None if either
    cannot be had."""
    from netlab.nn import load_weights  # imported when needed: netlab.nn brings scikit-learn

    network = artifact(client, row["run_id"], "weights.npz", load_weights,
                       row.get("artifact_uri"))
    if network is None:
        return None
    try:
        return network, dataset_of(params_of(row))
    except (ValueError, KeyError, TypeError, OSError):
        return None


def boundary_of(client, row):
    """(snapshots dict or None, source): 'recorded', 'rebuilt', 'not 2-D', or why there is none."""
    snap = artifact(client, row["run_id"], snapshots.FILENAME, snapshots.load,
                    row.get("artifact_uri"))
    if snap is not None and len(snap["epochs"]):
        return snap, "recorded"
    if row["state"] != "finished":
        return None, row["status_text"]
    found = rebuilt(client, row)
    if found is None:
        return None, "no weights"
    network, data = found
    if not data.is_2d:
        return None, "not 2-D"
    snap = snapshots.BoundarySnapshots(data.X_train, [1], y=data.y_train)
    snap(1, None, network)
    return ({"epochs": np.array([-1]), "x0": snap.x0, "x1": snap.x1, "proba": np.stack(snap.frames),
             "X": snap.X, "y": snap.y}, "rebuilt")


def panel_title(study, config):
    """A configuration and its validation accuracy: two lines for a panel's title."""
    accuracy = mean_ci(config["val_mean"], config["val_half"], config["n"])
    n = f" (n = {config['n']})" if study.seeded else ""
    return f"{short(config, study.keys)}\nval {accuracy}{n}"


def boundary_figures(study, client, agg, save):
    """decision_boundaries and boundary_evolution.gif for 2-D data: [(file, caption)]."""
    runs = study.runs.set_index("run_id", drop=False)
    cells, sources, flat = [], set(), []
    for _, config in agg.head(MAX_PANELS).sort_values(study.keys or "n").iterrows():
        run_id = config["best_run"]
        if isinstance(run_id, str):
            row = runs.loc[run_id]
        else:  # no finished run: its first run's fate is the panel
            from .comparisons import rows_of
            row = rows_of(study.runs, study.keys, config).iloc[0]
        snap, source = boundary_of(client, row)
        if source == "not 2-D":
            flat.append(config.get(DATASET))
            continue
        sources.add(source)
        cells.append((panel_title(study, config), snap, source if snap is None else None))
    if not any(snap is not None for _, snap, _ in cells):
        return []
    fig = study_plots.boundary_grid(cells, f"{study.experiment}: decision boundaries",
                                    ncols=panel_columns(study, len(cells)))
    how = {"recorded": "as recorded at the last epoch", "rebuilt": "rebuilt from weights.npz"}
    figures = [(save(fig, "decision_boundaries"),
                "Decision boundary of each configuration after training ("
                + " or ".join(how[s] for s in sorted(sources) if s in how)
                + "), over its standardised training points; for two classes the colour is the "
                "predicted probability of class 1 in bands of 0.1, class 0 orange and class 1 "
                "blue, the black line where it crosses 0.5. Each panel gives the configuration's "
                "validation accuracy" + (" (mean [95 % CI] over its seeds) and shows its best "
                                         "seed's run." if study.seeded else ".")
                + (f" {len(agg) - MAX_PANELS} more configurations are not drawn."
                   if len(agg) > MAX_PANELS else ""))]
    figures.extend(evolution(study, client, save))
    return figures


def evolution(study, client, save):
    """The best run's boundary during training as a GIF: [(file, caption)] or []."""
    for _, row in study.runs[study.runs["state"].eq("finished")].head(5).iterrows():
        snap = artifact(client, row["run_id"], snapshots.FILENAME, snapshots.load,
                    row.get("artifact_uri"))
        if snap is None or len(snap["epochs"]) < 2:
            continue
        title = short(row, study.keys)
        name = save.gif("boundary_evolution", snap, title)
        epochs = ", ".join(str(int(e)) for e in snap["epochs"])
        return [(name, f"The best run ({title}, run `{row['run_id'][:8]}`) during training: its "
                       f"decision boundary at epochs {epochs}.")]
    return []


def panel_columns(study, n):
    """Columns for n configuration panels: one row per value of the first swept key if it fits."""
    counts = [study.runs[k].nunique() for k in study.keys]
    per_row = int(np.prod(counts[1:])) if len(counts) > 1 else n
    if per_row <= 6:
        return max(per_row, 1)
    return counts[-1] if counts[-1] <= 6 else min(n, 5)


def small_enough(config):
    """Whether a configuration's hidden layers are small enough to draw unit by unit."""
    width, depth = parse_value(config.get("params.width")), parse_value(config.get("params.depth"))
    return isinstance(width, int) and isinstance(depth, int) and 1 <= depth <= 2 and width <= 8


def hidden_units(study, client, agg, save):
    """hidden_units: the tiles of each small configuration's best run (2-D data): [(file, caption)].

    Drawn when at most MAX_TILE_ROWS configurations have 1–2 hidden layers of at most 8 units.
    """
    runs = study.runs.set_index("run_id", drop=False)
    chosen = [(config, runs.loc[config["best_run"]]) for _, config in agg.iterrows()
              if isinstance(config["best_run"], str)]
    chosen = [(c, r) for c, r in chosen if small_enough(r)]
    if not chosen or len(chosen) > MAX_TILE_ROWS:
        return []
    chosen.sort(key=lambda pair: tuple(str(label(pair[0][k])).zfill(8) for k in study.keys))
    rows, skipped = [], len(agg) - len(chosen)
    for config, row in chosen:
        found = rebuilt(client, row)
        if found is None or not found[1].is_2d:
            return []
        network, data = found
        image = run_plots.hidden_units(network, data.X_train, data.y_train)
        if image is not None:
            rows.append((panel_title(study, config).replace("\n", " — "), image))
    if not rows:
        return []
    fig = study_plots.image_rows(rows, f"{study.experiment}: what each hidden unit computes",
                                 dpi=save.dpi)
    return [(save(fig, "hidden_units"),
             "What each hidden unit computes over the input plane (the best run of each "
             "configuration, rebuilt from its weights.npz): one tile per unit, one row of tiles "
             "per hidden layer, its activation as colour (0 white; sigmoid 0.5 white; orange "
             "below, blue above, in bands), then the network's output with the training points."
             + (f" {count(skipped, 'configuration')} without a hidden layer, or with more than 2 "
                "hidden layers or 8 units a layer, not drawn." if skipped else ""))]


def chance_level(client, runs):
    """The majority class's share of the training labels of the first finished run among runs
    (the accuracy of always answering that class), or None."""
    for _, row in runs[runs["state"].eq("finished")].head(3).iterrows():
        snap = artifact(client, row["run_id"], snapshots.FILENAME, snapshots.load,
                    row.get("artifact_uri"))
        y = snap["y"] if snap is not None and len(snap["y"]) else None
        if y is None:
            found = rebuilt(client, row)
            y = found[1].y_train if found is not None else None
        if y is not None and len(y):
            return float(np.bincount(np.asarray(y).astype(int)).max() / len(y))
    return None
