"""Weights on disk: an .npz with W1, b1, W2, b2, … in the lecture's shapes, W[l] (n[l], n[l-1]) and
b[l] (n[l], 1), for one replica, and the activation's name."""

import numpy as np

from .network import Network


def save_weights(net, path, replica=0):
    """Write replica `replica`'s W1, b1, …, WL, bL (2-D) and the activation's name to an .npz."""
    arrays = {}
    for l in range(1, net.L + 1):
        arrays[f"W{l}"], arrays[f"b{l}"] = net.W[l][replica], net.b[l][replica]
    np.savez(path, activation=np.array(net.activation), **arrays)


def load_weights(path):
    """A stack of one Network from an .npz written by save_weights (no pickles are loaded)."""
    with np.load(path, allow_pickle=False) as data:
        L = sum(1 for k in data.files if k.startswith("W"))
        W = [data[f"W{l}"] for l in range(1, L + 1)]
        b = [data[f"b{l}"] for l in range(1, L + 1)]
        activation = str(data["activation"]) if "activation" in data.files else "tanh"
    sizes = (W[0].shape[1], *(w.shape[0] for w in W))
    return Network(sizes, activation, dtype=W[0].dtype.name).set_parameters(W, b)
