"""The network of the lecture, by hand in NumPy. Knows nothing of Hydra or MLflow."""

from .activations import ACTIVATIONS
from .estimator import NetClassifier
from .initializers import INITIALIZERS
from .io import load_weights, save_weights
from .network import Network, layer_sizes
from .optimizers import OPTIMIZERS
from .training import Diverged, History, TrainingConfig, evaluate, train

__all__ = [
    "ACTIVATIONS", "INITIALIZERS", "OPTIMIZERS", "Diverged", "History", "NetClassifier", "Network",
    "TrainingConfig", "evaluate", "layer_sizes", "load_weights", "save_weights", "train",
]
