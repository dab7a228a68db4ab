"""netlab: a research harness for studying how small neural networks learn.

`from netlab import NetClassifier` gives the network as a scikit-learn estimator; the command line
is `python -m src.run` from the project root (README.md).
"""


def __getattr__(name):
    """NetClassifier, imported when first asked for (it brings scikit-learn)."""
    if name == "NetClassifier":
        from netlab.nn import NetClassifier

        return NetClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NetClassifier"]
