"""The network of the lecture, by hand in NumPy, for R replicas at once. Knows nothing of Hydra or
MLflow."""

from .activations import ACTIVATIONS, Activation
from .constraints import CONSTRAINTS, HyperparameterError, check, default, describe
from .gradcheck import GradientCheckError, gradcheck
from .initializers import INITIALIZERS
from .io import load_weights, save_weights
from .losses import predicted_class
from .memory import memory_bytes
from .network import Network, layer_sizes
from .optimizers import OPTIMIZERS
from .training import PER_REPLICA, Diverged, History, TrainingConfig, evaluate, train


def __getattr__(name):
    """NetClassifier, imported when first asked for: the estimator brings scikit-learn, which
    takes seconds to import and nothing else here needs."""
    if name == "NetClassifier":
        from .estimator import NetClassifier

        return NetClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS", "CONSTRAINTS", "INITIALIZERS", "OPTIMIZERS", "PER_REPLICA", "Activation",
    "Diverged",
    "GradientCheckError", "History", "HyperparameterError", "NetClassifier", "Network",
    "TrainingConfig", "check", "default", "describe", "evaluate", "gradcheck", "layer_sizes",
    "load_weights", "memory_bytes", "predicted_class", "save_weights", "train",
]
