"""Decision boundaries recorded during training: the network on a fixed grid at a few epochs.

BoundarySnapshots is a per-epoch callback (`callback(epoch, record, network)`, as NetClassifier.fit
calls it) for 2-D data; save(path) writes what it recorded to an .npz that load() reads back:
`epochs` (k,), grid axes `x0` (r,) and `x1` (r,), `proba` (k, n_out, r, r) float32 (the network's
output: P(class 1) for two classes, one row per class otherwise), and the training points `X`, `y`.
Coordinates are those the network sees (standardised features). Knows nothing of MLflow.
"""

import numpy as np

from src import nn

FILENAME = "boundaries.npz"


def log_spaced_epochs(epochs, n=16):
    """About n epochs from 1 to `epochs`, log-spaced (dense early), both ends included."""
    epochs = int(epochs)
    if epochs < 1:
        return []
    points = np.unique(np.round(np.geomspace(1, epochs, num=min(n, epochs))).astype(int))
    return sorted({1, epochs, *points.tolist()})


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
        self._grid = np.vstack([g0.ravel(), g1.ravel()])  # (2, r*r): samples are columns
        self.wanted = set(int(e) for e in epochs_to_record)
        self.epochs, self.frames = [], []

    def __call__(self, epoch, record, network):
        """Per-epoch callback: evaluate the grid if this epoch is one to record."""
        if epoch in self.wanted:
            proba = network.predict_proba(self._grid.astype(network.dtype, copy=False))[0]
            shape = (proba.shape[0], len(self.x1), len(self.x0))
            self.frames.append(np.asarray(proba, dtype=np.float32).reshape(shape))
            self.epochs.append(int(epoch))

    def save(self, path):
        """Write the recorded frames to an .npz at path (fits RunLogger.add_file)."""
        proba = (np.stack(self.frames) if self.frames
                 else np.zeros((0, 1, len(self.x1), len(self.x0)), np.float32))
        y = self.y if self.y is not None else np.zeros(0, dtype=int)
        np.savez_compressed(path, epochs=np.asarray(self.epochs, dtype=int), x0=self.x0, x1=self.x1,
                            proba=proba, X=self.X, y=y)


def load(path):
    """The arrays save() wrote, as a dict (epochs, x0, x1, proba, X, y)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def predicted_class(proba):
    """Class index per grid point from one frame's proba (n_out, r, r): threshold or argmax."""
    return nn.predicted_class(proba, axis=0)
