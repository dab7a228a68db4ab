"""The user's own files: a CSV, TSV or Parquet table, or an .npz of arrays X and y.

A file is found relative to the directory the command runs in, read once per process (parsed
contents cached by path, mtime and size), and hashed (the sha256 of its bytes: a run's data
identity). A file larger than LARGE_FILE is described from a sample (its start, or a Parquet
footer or .npy header) and read whole only by load(). What becomes of its columns or arrays is
columns.py's; nothing here is downloaded or executed (allow_pickle=False).
"""

import functools
import hashlib
import io
import math
import os
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netlab.data.columns import arrays_of, check_choices, columns_of
from netlab.data.errors import DatasetError
from netlab.data.sources import Source

if TYPE_CHECKING:  # pandas is imported where a user's table is read
    import pandas

FILE_KINDS = {"csv": "a .csv, .tsv or .parquet file", "npz": "an .npz file of arrays X and y"}
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
READERS = {"csv": "pandas.read_csv", "tsv": "pandas.read_csv", "parquet": "pandas.read_parquet",
           "npz": "numpy.load"}

LARGE_FILE = 128 * 2**20  # bytes: describe() reads a larger file only in part (a sample, a header)
SAMPLE_BYTES = 2**20  # how much of a large CSV describe() reads to estimate its rows
CACHE_BYTES = 512 * 2**20  # files kept parsed in this process (least recently used dropped first)


def read_table(path, label="label", features=None, missing="error", categorical="onehot"):
    """A CSV, TSV or Parquet file's features X (m, n_features) and labels y (m,), as in the file
    (rows with an empty cell dropped when missing="drop"): its numeric columns, then its text
    ones; float64, or of objects when it has text columns."""
    table = file_table("csv", path, label=label, features=features, missing=missing,
                       categorical=categorical)
    if not table.text:
        return table.X, table.labels
    return np.hstack([table.X.astype(object), table.T]), table.labels


def read_arrays(path):
    """An .npz file's arrays X (m, n_features) and y (m,) (allow_pickle=False)."""
    table = file_table("npz", path)
    return table.X, table.labels


FILES = {  # the user's own data: path is required, relative to the directory the command runs in
    "csv": Source(read_table, {"path": None, "label": "label", "features": None,
                               "missing": "error", "categorical": "onehot"},
                  generated=False, seeded_by=None),
    "npz": Source(read_arrays, {"path": None}, generated=False, seeded_by=None),
}


def missing_path(name):
    """The DatasetError of dataset=name (csv or npz) given no path."""
    return DatasetError("path", "???", f"missing: dataset={name} needs dataset.path="
                                       f"<{FILE_KINDS[name]}>, relative to the directory the "
                                       "command runs in")


@dataclass(frozen=True, eq=False)
class _Contents:
    """A file as read: its table (pandas) or arrays (npz), the sha256 of its bytes, its rows."""

    content_hash: str | None
    frame: "pandas.DataFrame | None" = None
    arrays: dict | None = None
    n_rows: int = 0
    estimated: bool = False  # a sample of a large file: n_rows estimated (or from its header)


@dataclass(frozen=True, eq=False)
class FileTable:
    """A file's usable content: numeric features X (m, n), text features T (m, n_text), labels
    (m,) as in the file, and provenance."""

    kind: str  # csv, tsv, parquet or npz
    path: Path
    X: np.ndarray
    labels: np.ndarray
    feature_names: tuple | None  # a table's numeric feature columns (X's)
    content_hash: str | None
    n_rows: int  # rows kept (of a large file's sample: estimated for the whole file)
    estimated: bool
    T: np.ndarray | None = None  # a table's text feature columns, as str
    text: tuple = ()  # their names
    features: tuple | None = None  # every feature column, in the file's (dataset.features') order
    dropped: int = 0  # rows dropped for an empty cell (dataset.missing=drop; estimated likewise)


_CACHE = OrderedDict()  # (path, mtime, size) -> _Contents of the whole file


def _resolve(name, path):
    """The absolute path of a dataset file, checked to exist and to have a known suffix."""
    if path is None or path == "???":  # ???: OmegaConf's mark of a missing value
        raise missing_path(name)
    full = Path(os.path.abspath(os.path.expanduser(str(path))))
    if not full.exists():
        raise DatasetError("path", path, f"no such file (looked for {full})")
    if not full.is_file():
        raise DatasetError("path", path, f"is not a file ({full})")
    kind = SUFFIXES.get(full.suffix.lower())
    if kind is None or (kind == "npz") != (name == "npz"):
        other = "npz" if kind == "npz" else "csv"
        hint = f"; dataset={other} reads it" if kind is not None else ""
        raise DatasetError("path", path, f"dataset={name} reads {FILE_KINDS[name]}{hint}")
    return full, kind


def _sha256(data):
    return hashlib.sha256(data).hexdigest()[:16]


def _streamed_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**24):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _file_hash(path, mtime_ns, size):
    return _streamed_sha256(path)


def file_hash(path):
    """The content hash of a file (sha256 of its bytes, 16 hex digits), computed once per
    version of the file in a process: what describe() leaves out for a large file."""
    stat = Path(path).stat()
    return _file_hash(str(path), stat.st_mtime_ns, stat.st_size)


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _parse(kind, source):
    """The table (DataFrame) or arrays (dict) in source, a path or a file-like object."""
    import pandas as pd  # here: only a run on a user's table pays for importing pandas

    if kind == "npz":
        with np.load(source, allow_pickle=False) as npz:
            return None, {key: npz[key] for key in npz.files}
    if kind == "parquet":
        return pd.read_parquet(source), None
    return pd.read_csv(source, sep="\t" if kind == "tsv" else ","), None


def _read(path, kind, given, whole=False):
    """A file's contents, parsed once per process (cached by path, mtime and size).

    A file larger than LARGE_FILE is read whole only when whole=True (load()), and then not kept;
    otherwise only a sample of it (see _sample).
    """
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    large = stat.st_size > LARGE_FILE
    try:
        if large and not whole:
            return _sample(path, kind, stat.st_size)
        if large:
            content_hash, source = _streamed_sha256(path), path
        else:
            raw = path.read_bytes()
            content_hash, source = _sha256(raw), io.BytesIO(raw)
        frame, arrays = _parse(kind, source)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        problem = f"cannot be read as {kind}: {_first_line(error)}"
        raise DatasetError("path", given, problem) from None
    n_rows = len(frame) if frame is not None else _npz_rows(arrays)
    contents = _Contents(content_hash, frame, arrays, n_rows)
    if not large:
        _CACHE[key] = contents
        while sum(k[2] for k in _CACHE) > CACHE_BYTES and len(_CACHE) > 1:
            _CACHE.popitem(last=False)
    return contents


def _npz_rows(arrays):
    X = arrays.get("X")
    return len(X) if X is not None and X.ndim >= 1 else 0


def _sample(path, kind, size):
    """The start of a large file, with its rows: exact from a Parquet footer or an .npz header,
    estimated from the size of a CSV (the bytes per row of its first SAMPLE_BYTES)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=10_000), None)
        frame = (batch if batch is not None else parquet.schema_arrow.empty_table()).to_pandas()
        return _Contents(None, frame, n_rows=parquet.metadata.num_rows, estimated=True)
    if kind == "npz":
        with zipfile.ZipFile(path) as archive:
            arrays, rows = {}, {}
            for member in archive.namelist():
                with archive.open(member) as f:
                    arrays[member.removesuffix(".npy")], rows[member] = _npy_head(f, 10_000)
        n_rows = rows.get("X.npy", 0)
        return _Contents(None, arrays=arrays, n_rows=n_rows, estimated=True)
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1]
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(head), sep="\t" if kind == "tsv" else ",")
    header = head.find(b"\n") + 1
    per_row = (len(head) - header) / max(len(frame), 1)
    return _Contents(None, frame, n_rows=round((size - header) / per_row), estimated=True)


def _npy_head(f, rows):
    """(the first rows of the .npy array in file f, its number of rows), reading no further."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    n = shape[0] if shape else 1
    if fortran or not shape:
        return np.empty((0, *shape[1:]), dtype), n
    k = min(rows, n)
    per_row = dtype.itemsize * math.prod(shape[1:])
    return np.frombuffer(f.read(k * per_row), dtype).reshape(k, *shape[1:]), n


def file_table(name, path, label="label", features=None, missing="error", categorical="onehot",
               whole=True):
    """The checked features and labels of the file dataset=name reads (DatasetError if unusable)."""
    if name == "csv":  # the values refused before the file is even looked for
        check_choices(missing, categorical)
    full, kind = _resolve(name, path)
    contents = _read(full, kind, path, whole=whole)
    if kind == "npz":
        X, labels, feature_names = arrays_of(contents.arrays, contents.estimated, path)
        return FileTable(kind, full, X, labels, feature_names, contents.content_hash,
                         contents.n_rows, contents.estimated)
    table = columns_of(contents.frame, kind, path, full.name, label, features, missing,
                       categorical)
    sampled = len(contents.frame)
    n_rows, dropped = contents.n_rows, table.dropped
    if sampled and n_rows != sampled:  # a large file's sample: its share of empty rows, scaled
        dropped = round(table.dropped / sampled * n_rows)
    return FileTable(kind, full, table.X, table.labels, table.numeric, contents.content_hash,
                     n_rows - dropped, contents.estimated, table.T, table.text, table.features,
                     dropped)
