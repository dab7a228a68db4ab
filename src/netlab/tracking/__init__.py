"""Experiment tracking in MLflow. Knows nothing of backprop or Hydra: it records what it is given.

store: where runs go and keeping the store sound; logger.RunLogger: one run; sweep: a sweep's parent
run; model: the network as a pyfunc model; ui: the UI's link and the server app `make ui` serves.
MLflow is imported by the modules that talk to a store (store.py only inside its functions), so
`import netlab.tracking.store` is cheap.
"""

import os

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file otherwise
# with a server, MLflow prints two lines of links per run it ends: a job prints one line
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
