"""The model-from-code file MLflow stores with each logged network (see model.py)."""

from mlflow.models import set_model

from netlab.tracking.model import NetworkModel

set_model(NetworkModel())
