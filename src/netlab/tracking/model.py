"""The trained network as an MLflow pyfunc model: raw features in, class labels out.

Logged as a model from code (network_pyfunc.py, no pickle) with the weights and the preprocessing
as its artifacts; loading it needs this project importable (`pip install -e .`, as `make` does).
"""

import contextlib
import logging
import os
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
from mlflow.models import Model, infer_signature


class NetworkModel(mlflow.pyfunc.PythonModel):
    """Standardises the features as in training (when the scaler was given), runs the network
    forward, returns class labels."""

    def load_context(self, context):
        """Read the weights and the preprocessing arrays logged beside the model."""
        from netlab.nn import load_weights

        self.network = load_weights(context.artifacts["weights"])
        with np.load(context.artifacts["preprocessing"], allow_pickle=False) as data:
            self.classes = data["classes"]
            self.mean = data["mean"] if "mean" in data.files else 0.0
            self.scale = data["scale"] if "scale" in data.files else 1.0

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        """(m, n_features) raw features -> (m,) class labels."""
        X = (np.asarray(model_input, dtype=np.float64) - self.mean) / self.scale
        A = self.network.predict_proba(X.astype(self.network.dtype).T)[0]
        index = (A[0] > 0.5).astype(int) if A.shape[0] == 1 else A.argmax(axis=0)
        return self.classes[index]


def requirements():
    """The model's pip requirements, pinned to this environment (so MLflow need not infer them)."""
    names = ("mlflow", "numpy", "scikit-learn", "cloudpickle")
    return [f"{name}=={metadata.version(name)}" for name in names]


def log_network_model(run_id, weights_path, preprocessing_path, input_example, name="model",
                      experiment_id=None, tracking_uri=None):
    """Log the network (its weights.npz and preprocessing .npz) as a pyfunc model of run_id (kept
    in experiment_id, the run's experiment).

    Returns MLflow's ModelInfo; the model loads back with mlflow.pyfunc.load_model(model_uri).
    """
    logging.getLogger("mlflow.pyfunc").setLevel(logging.WARNING)  # an INFO line per model
    # MLflow 3 keeps the model apart from the run, in the experiment its fluent state names: say
    # which through the environment and the fluent URI for this call only (both restored after)
    with _environment(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_EXPERIMENT_ID=experiment_id), \
            _fluent_uri(tracking_uri):
        return _log(run_id, weights_path, preprocessing_path, input_example, name)


@contextlib.contextmanager
def _fluent_uri(uri):
    """MLflow's process-wide tracking URI set to uri (if given) for the block, then put back: a URI
    set earlier with mlflow.set_tracking_uri beats the environment variable."""
    from mlflow.tracking._tracking_service import utils

    saved = utils._tracking_uri
    if uri is not None:
        utils._tracking_uri = uri
    try:
        yield
    finally:
        utils._tracking_uri = saved


@contextlib.contextmanager
def _environment(**variables):
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update({k: str(v) for k, v in variables.items() if v is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _log(run_id, weights_path, preprocessing_path, input_example, name):
    probe = NetworkModel()
    context = mlflow.pyfunc.PythonModelContext(
        artifacts={"weights": str(weights_path), "preprocessing": str(preprocessing_path)},
        model_config=None,
    )
    probe.load_context(context)
    example = np.asarray(input_example, dtype=np.float64)
    signature = infer_signature(example, probe.predict(context, example))
    # Model.log with run_id (what mlflow.pyfunc.log_model calls, without needing an active run)
    return Model.log(
        artifact_path=None, name=name, flavor=mlflow.pyfunc, run_id=run_id,
        python_model=str(Path(__file__).with_name("network_pyfunc.py")),
        signature=signature, input_example=example,
        artifacts={"weights": str(weights_path), "preprocessing": str(preprocessing_path)},
        pip_requirements=requirements(), flavor_name="pyfunc.ModelFromCode",
    )


PREPROCESSING = "preprocessing.npz"  # a run's class labels, standardisation and input example


def save_preprocessing(path, classes, mean=None, scale=None, example=None):
    """Write the class labels, the standardisation (mean, scale) and an input example (raw rows)
    to an .npz."""
    arrays = {"classes": np.asarray(classes)}
    if mean is not None:
        arrays.update(mean=np.asarray(mean, dtype=np.float64),
                      scale=np.asarray(scale, dtype=np.float64))
    if example is not None:
        arrays["example"] = np.asarray(example, dtype=np.float64)
    np.savez(path, **arrays)
