"""netlab: a research harness for studying how small neural networks learn.

`from netlab import NetClassifier` gives the network as a scikit-learn estimator;
`netlab.load_study("width")` every run of a study as one DataFrame (pandas). The command line is
`python -m src.run` from the project root (README.md).
"""


def __getattr__(name):
    """NetClassifier and load_study, imported when first asked for (they bring scikit-learn,
    pandas and MLflow)."""
    if name == "NetClassifier":
        from netlab.nn import NetClassifier

        return NetClassifier
    if name == "load_study":
        from netlab.export import load_study

        return load_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NetClassifier", "load_study"]
