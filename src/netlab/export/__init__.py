"""Every run of a study as one table: `python -m src.export STUDY` writes it as Parquet,
`netlab.load_study(STUDY)` returns it as a DataFrame (netlab.export.table has the details)."""


def load_study(experiment, tracking_uri=None, path=None):
    """Every run of a study as one DataFrame, a row per run (see netlab.export.table)."""
    from .table import load_study as load

    return load(experiment, tracking_uri, path)
