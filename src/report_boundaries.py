"""Decision boundaries of logged runs: the run's boundaries.npz, else rebuilt from weights.npz.

A run trained with src.snapshots.BoundarySnapshots carries boundaries.npz (the boundary at several
epochs). For a run without it, the final boundary is rebuilt: the dataset regenerated from the run's
params exactly as src.run does (same seed derivation), the network read from weights.npz.
"""

import tempfile
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from src import snapshots
from src.nn import load_weights
from src.report_data import parse_value


def _has(client, run_id, name):
    return any(f.path == name for f in client.list_artifacts(run_id))


def recorded(client, run_id):
    """The run's boundaries.npz as a dict (see src.snapshots), or None if it has none."""
    if not _has(client, run_id, snapshots.FILENAME):
        return None
    with tempfile.TemporaryDirectory(prefix="netlab-report-") as folder:
        return snapshots.load(client.download_artifacts(run_id, snapshots.FILENAME, folder))


def dataset_of(params):
    """The dataset a run trained on (src.data.Dataset), regenerated from its params {key: str}."""
    from src.experiment import derive_seeds, load_data  # the same split and seeds as the run

    dataset = {k[len("dataset."):]: parse_value(v) for k, v in params.items()
               if k.startswith("dataset.") and isinstance(v, str)}  # NaN: another dataset's key
    seed = parse_value(params.get("seed", 0))
    data_seed, _ = derive_seeds(seed)
    return load_data(OmegaConf.create({"dataset": dataset}), data_seed)


def rebuilt(client, run_id, params, resolution=80):
    """The final boundary from weights.npz over the regenerated 2-D data, or None if not 2-D."""
    if not _has(client, run_id, "weights.npz"):
        return None
    data = dataset_of(params)
    if not data.is_2d:
        return None
    with tempfile.TemporaryDirectory(prefix="netlab-report-") as folder:
        network = load_weights(Path(client.download_artifacts(run_id, "weights.npz", folder)))
    snap = snapshots.BoundarySnapshots(data.X_train, [1], y=data.y_train, resolution=resolution)
    snap(1, None, network)
    return {"epochs": np.array([-1]), "x0": snap.x0, "x1": snap.x1, "proba": np.stack(snap.frames),
            "X": snap.X, "y": snap.y}


def boundary_of(client, run_id, params):
    """(snapshots dict or None, source): 'recorded', 'rebuilt', or why there is none."""
    snap = recorded(client, run_id)
    if snap is not None and len(snap["epochs"]):
        return snap, "recorded"
    try:
        snap = rebuilt(client, run_id, params)
    except (ValueError, KeyError, TypeError, OSError) as error:
        return None, f"cannot rebuild: {error}"
    return (snap, "rebuilt") if snap is not None else (None, "no weights or not 2-D")
