"""The trained network as an MLflow pyfunc model: raw features in, class labels out.

Logged as a model from code (network_pyfunc.py, no pickle) with the weights and the preprocessing
as its artifacts; loading it needs this project importable (`pip install -e .`, as `make` does).
"""

import contextlib
import logging
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus
from mlflow.models import Model, infer_signature

from netlab.interrupts import held

from .logger import staging_folder


class NetworkModel(mlflow.pyfunc.PythonModel):
    """Makes a table's raw columns into the network's inputs as training did (text one-hot, the
    encoding saved with it), standardises them as in training (when the scaler was given), runs
    the network forward, returns class labels."""

    def load_context(self, context):
        """Read the weights and the preprocessing arrays logged beside the model."""
        from netlab.nn import load_weights

        self.network = load_weights(context.artifacts["weights"])
        with np.load(context.artifacts["preprocessing"], allow_pickle=False) as data:
            self.classes = data["classes"]
            self.mean = data["mean"] if "mean" in data.files else 0.0
            self.scale = data["scale"] if "scale" in data.files else 1.0
            self.encoding = _encoding(data)

    # the hint is one of the types MLflow infers no schema from (the logged signature, from the
    # input example, says what goes in): a table's model gets a DataFrame
    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        """(m, n_features) raw features, or a table's raw rows (a DataFrame of its feature
        columns, by name) -> (m,) class labels."""
        if self.encoding is not None:
            X = self.encoding.of_frame(model_input)
        else:
            X = np.asarray(model_input, dtype=np.float64)
        X = (X - self.mean) / self.scale
        A = self.network.predict_proba(X.astype(self.network.dtype).T)[0]
        index = (A[0] > 0.5).astype(int) if A.shape[0] == 1 else A.argmax(axis=0)
        return self.classes[index]


def requirements():
    """The model's pip requirements, pinned to this environment (so MLflow need not infer them)."""
    names = ("mlflow", "numpy", "scikit-learn", "cloudpickle")
    return [f"{name}=={metadata.version(name)}" for name in names]


@held()  # an interrupt waits for the model to be READY (or FAILED), never left PENDING
def log_network_model(run_id, weights_path, preprocessing_path, input_example, name="model",
                      experiment_id=None, tracking_uri=None):
    """Log the network (its weights.npz and preprocessing .npz) as the pyfunc model `name` of
    run_id (with its params), in experiment_id (the run's when None) of the store at tracking_uri.

    Returns MLflow's ModelInfo; the model loads back with
    mlflow.pyfunc.load_model(f"runs:/{run_id}/{name}").
    """
    logging.getLogger("mlflow.pyfunc").setLevel(logging.WARNING)  # an INFO line per model
    # MLflow 3's logged-model calls on a client of the run's own store, not the fluent
    # mlflow.pyfunc.log_model: that one logs into the process's tracking URI and experiment (a
    # process may log runs into another store, as the tests and a notebook do), and a
    # start_run(run_id=…) block around it would end the run FINISHED before its files are written
    client = MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    artifacts = {"weights": str(weights_path), "preprocessing": str(preprocessing_path)}
    example = (input_example if hasattr(input_example, "columns")  # a table's raw rows
               else np.asarray(input_example, dtype=np.float64))
    signature = infer_signature(example, _predict(artifacts, example))
    if hasattr(example, "columns"):
        signature.inputs = _numbers_as_any(signature.inputs)
    # the run's params on the model too, as mlflow.pyfunc.log_model gives them (the UI's models
    # table shows and searches them)
    logged = client.create_logged_model(experiment_id or run.info.experiment_id, name=name,
                                        source_run_id=run_id, params=run.data.params)
    try:
        with staging_folder("netlab-model-") as folder:
            model = Model(artifact_path=logged.artifact_location, run_id=run_id,
                          model_uuid=logged.model_id, model_id=logged.model_id)
            mlflow.pyfunc.save_model(
                Path(folder) / name, mlflow_model=model,
                python_model=str(Path(__file__).with_name("network_pyfunc.py")),
                artifacts=artifacts, signature=signature, input_example=example,
                pip_requirements=requirements())
            client.log_model_artifacts(logged.model_id, str(Path(folder) / name))
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    except BaseException:
        with contextlib.suppress(Exception):  # the error raised is the one to report
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    return model.get_model_info(client.finalize_logged_model(logged.model_id,
                                                             LoggedModelStatus.READY))


def _numbers_as_any(schema):
    """A table's input schema with its number columns of any type: MLflow's schema enforcement
    refuses int64 for a double column (`Can not safely convert int64 to float64`), and a user's
    whole numbers (read from a file without gaps) come as int64; the model itself makes numbers
    float64 and refuses what is not a number (netlab.data.Encoding.of_frame)."""
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import AnyType

    return Schema([ColSpec(AnyType(), c.name, c.required) if c.type == DataType.double else c
                   for c in schema.inputs])


def _predict(artifacts, example):
    """The model's own predictions on example, loaded as MLflow will load it (for the signature)."""
    probe = NetworkModel()
    context = mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config=None)
    probe.load_context(context)
    return probe.predict(context, example)


PREPROCESSING = "preprocessing.npz"  # a run's class labels, standardisation and input example
# (and, for a table, its encoding: which columns are numbers, which text and their categories)


def save_preprocessing(path, classes, mean=None, scale=None, example=None, encoding=None):
    """Write the class labels, the standardisation (mean, scale), an input example (rows of
    inputs, unstandardised) and a table's encoding (a netlab.data.Encoding) to an .npz."""
    arrays = {"classes": np.asarray(classes)}
    if mean is not None:
        arrays.update(mean=np.asarray(mean, dtype=np.float64),
                      scale=np.asarray(scale, dtype=np.float64))
    if example is not None:
        arrays["example"] = np.asarray(example, dtype=np.float64)
    if encoding is not None:
        arrays.update(encoding.arrays())
    np.savez(path, **arrays)


def input_example(path):
    """The model's input example from a preprocessing .npz: raw rows (m, n_features), or for a
    table a DataFrame of its raw feature columns."""
    with np.load(path, allow_pickle=False) as arrays:
        example, encoding = arrays["example"], _encoding(arrays)
    return example if encoding is None else encoding.frame_of(example)


def _encoding(arrays):
    """A table's Encoding saved in the preprocessing arrays, or None (no table's)."""
    if "numeric" not in arrays.files:
        return None
    from netlab.data.encoding import Encoding  # the project's own, as load_weights is

    return Encoding.of_arrays(arrays)
