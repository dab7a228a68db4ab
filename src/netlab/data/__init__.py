"""Datasets: scikit-learn's generators and bundled tables, three classic 2-D teaching sets, and the
user's own files (a CSV or Parquet table, an .npz of arrays X and y).

Every dataset is split the same way: a seeded, stratified train/validation/test split, then feature
standardisation fitted on the training part only (a table's text features are one-hot encoded,
also fitted on the training part, and not standardised). Labels of any type (strings too) become
0..k−1 in sorted order; Dataset.classes keeps the original names. describe() says what a dataset
will be — rows, features, classes, content hash, memory — and checks it before anything runs,
without generating anything and reading a file at most once per process; load() builds it. A
dataset that cannot be used raises DatasetError, one line naming the key as a config spells it
(`dataset.label=species: no such column in iris.csv (columns: …)`). Nothing is downloaded.
Knows nothing of Hydra or MLflow.

By concern:
- generated.py: scikit-learn's generators and the teaching sets (flower, xor, spiral);
- bundled.py: scikit-learn's bundled tables (iris, wine, breast cancer, digits);
- files.py: the user's files found, read once, hashed, sampled when large; columns.py: their
  columns or arrays made into checked features and labels (rows with empty cells refused or
  dropped, text features kept or refused); encoding.py: a table's columns made into the network's
  inputs (text one-hot, fitted on the training part), for training and for the logged model;
- catalogue.py: the table of every dataset, describe() and generate();
- split.py: the one split and standardisation, and what it guarantees;
- dataset.py: the Dataset and load(); errors.py: DatasetError; sources.py: a table's entry.
"""

from netlab.data.bundled import TABLES
from netlab.data.catalogue import DATASETS, LOADED_COPIES, DatasetInfo, describe, generate, missing
from netlab.data.columns import CATEGORICAL, MISSING
from netlab.data.dataset import Dataset, load
from netlab.data.encoding import Encoding
from netlab.data.errors import DatasetError
from netlab.data.files import FILE_KINDS, FILES, file_hash, read_arrays, read_table
from netlab.data.generated import GENERATED, make_flower, make_spiral, make_xor, n_classes_of
from netlab.data.split import least_per_part, smallest_splittable, split_sizes

__all__ = ["CATEGORICAL", "DATASETS", "FILES", "FILE_KINDS", "GENERATED", "LOADED_COPIES",
           "MISSING", "TABLES", "Dataset", "DatasetError", "DatasetInfo", "Encoding", "describe",
           "file_hash", "generate", "least_per_part", "load", "make_flower", "make_spiral",
           "make_xor", "missing", "n_classes_of", "read_arrays", "read_table",
           "smallest_splittable", "split_sizes"]
