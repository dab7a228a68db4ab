"""Decision boundaries recorded during training: the network on a fixed grid at a few epochs.

BoundarySnapshots is a per-epoch callback (`callback(epoch, record, network)`, as NetClassifier.fit
calls it) for 2-D data; save(path) writes what it recorded to an .npz that load() reads back as
`epochs` (k,), grid axes `x0` (r,) and `x1` (r,), `proba` (k, n_out, r, r) float32 (the network's
output: P(class 1) for two classes, one row per class otherwise; NaN where the network's output was
not finite), and the training points `X`, `y`. Coordinates are those the network sees
(standardised features). Knows nothing of MLflow.

On disk the probabilities are quantised to one byte (0…255, a step of 0.004: far below what a
picture shows), stored as differences along each grid row (what PNG's "Sub" filter does: smooth
rows become runs of small numbers) and compressed, because every 2-D run stores one and a store
holds thousands of runs. load() also reads files written before, with float probabilities.
"""

import numpy as np

from netlab import nn

FILENAME = "boundaries.npz"
LEVELS = 255  # proba is stored as round(p · LEVELS) in a uint8


def log_spaced_epochs(epochs, n=16):
    """About n epochs from 1 to `epochs`, log-spaced (dense early), both ends included."""
    epochs = int(epochs)
    if epochs < 1:
        return []
    points = np.unique(np.round(np.geomspace(1, epochs, num=min(n, epochs))).astype(int))
    return sorted({1, epochs, *points.tolist()})


def predicted_class(proba):
    """Class index per point from one frame (n_out, …): the network's own rule (nn.predicted_class:
    P(class 1) > 0.5, else argmax; exactly 0.5 is class 0)."""
    return nn.predicted_class(np.asarray(proba), axis=0).astype(int)


class BoundarySnapshots:
    """Record network.predict_proba over a grid around X_train_2d (m, 2) at the epochs listed."""

    def __init__(self, X_train_2d, epochs_to_record, y=None, resolution=80, pad=0.5):
        X = np.asarray(X_train_2d, dtype=float)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"BoundarySnapshots needs 2-D points (m, 2), got shape {X.shape}")
        self.X = X
        self.y = None if y is None else np.asarray(y)
        low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
        self.x0 = np.linspace(low[0], high[0], resolution)
        self.x1 = np.linspace(low[1], high[1], resolution)
        g0, g1 = np.meshgrid(self.x0, self.x1)
        self.grid = np.vstack([g0.ravel(), g1.ravel()])  # (2, r*r): samples are columns
        self.wanted = set(int(e) for e in epochs_to_record)
        self.epochs, self.frames = [], []

    def evaluate(self, network):
        """A network's (a stack of one's) output over the grid now, as one frame (n_out, r, r)."""
        proba = network.predict_proba(self.grid.astype(network.dtype, copy=False))[0]
        return np.asarray(proba, dtype=np.float32).reshape(proba.shape[0], len(self.x1),
                                                           len(self.x0))

    def __call__(self, epoch, record, network):
        """Per-epoch callback: evaluate the grid if this epoch is one to record."""
        if epoch in self.wanted:
            self.frames.append(self.evaluate(network))
            self.epochs.append(int(epoch))

    def add(self, epoch, proba):
        """Keep a frame computed elsewhere (e.g. for a stack of replicas at once): the network's
        output over self.grid, (n_out, r·r)."""
        self.frames.append(np.asarray(proba, dtype=np.float32).reshape(
            proba.shape[0], len(self.x1), len(self.x0)))
        self.epochs.append(int(epoch))

    def at_end(self, network, epoch):
        """The frame of the network as training left it at `epoch`: the one recorded then, or
        evaluated now (one grid, 6,400 points) when that epoch was not recorded."""
        if self.epochs and self.epochs[-1] == int(epoch):
            return self.frames[-1]
        return self.evaluate(network)

    def as_dict(self):
        """What load() would return for these frames (epochs, x0, x1, proba, X, y), unquantised."""
        proba = (np.stack(self.frames) if self.frames
                 else np.zeros((0, 1, len(self.x1), len(self.x0)), np.float32))
        y = self.y if self.y is not None else np.zeros(0, dtype=int)
        return {"epochs": np.asarray(self.epochs, dtype=int), "x0": self.x0, "x1": self.x1,
                "proba": proba, "X": self.X, "y": y}

    def save(self, path):
        """Write the recorded frames to an .npz at path (fits RunLogger.add_file)."""
        arrays = self.as_dict()
        save(path, *(arrays[k] for k in ("epochs", "x0", "x1", "proba", "X", "y")))


def save(path, epochs, x0, x1, proba, X, y):
    """Write snapshot arrays compactly: proba as uint8 levels with a per-frame finite flag. No
    frame (proba (0, …): a run that diverged before its first snapshot) is a recording too."""
    proba = np.asarray(proba, dtype=np.float32)
    finite = np.isfinite(proba).all(axis=tuple(range(1, proba.ndim)))  # (k,), k = 0 too
    levels = np.round(np.clip(np.nan_to_num(proba, nan=0.0), 0, 1) * LEVELS).astype(np.uint8)
    sub = np.diff(levels, axis=-1, prepend=np.zeros(levels.shape[:-1] + (1,), np.uint8))
    np.savez_compressed(path, epochs=np.asarray(epochs, dtype=np.int32),
                        x0=np.asarray(x0, np.float32), x1=np.asarray(x1, np.float32),
                        proba_sub=sub, finite=finite, X=np.asarray(X, np.float32),
                        y=np.asarray(y).astype(np.int16))


def load(path):
    """The arrays save() wrote, as a dict (epochs, x0, x1, proba float32 in [0, 1] or NaN, X, y)."""
    with np.load(path, allow_pickle=False) as data:
        snap = {key: data[key] for key in data.files}
    if "proba_sub" in snap:  # uint8 differences wrap around: their running sum undoes them
        levels = np.cumsum(snap.pop("proba_sub"), axis=-1, dtype=np.uint8)
        proba = levels.astype(np.float32) / LEVELS
        proba[~snap.pop("finite").astype(bool)] = np.nan
        snap["proba"] = proba
    return snap
