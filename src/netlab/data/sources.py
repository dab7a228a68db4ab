"""An entry of the table of datasets (Source): where a dataset comes from, its default parameters,
how it is seeded; and scikit-learn's functions named in the table without importing scikit-learn."""

from dataclasses import dataclass, field


class Sklearn:
    """A function of sklearn.datasets, imported when first called: scikit-learn takes seconds to
    import, and describing a dataset (checking a config) needs only the table."""

    def __init__(self, name):
        self.__module__, self.__name__ = "sklearn.datasets", name  # as the function names itself

    def __call__(self, *args, **kwargs):
        from sklearn import datasets

        return getattr(datasets, self.__name__)(*args, **kwargs)


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: its generator (or loader) and default parameters."""

    function: object
    defaults: dict = field(default_factory=dict)
    generated: bool = True  # False: a bundled table or a file (no n_samples)
    seeded_by: str | None = "random_state"  # how the function takes its seed: random_state, rng
    rows: object = None  # rows the generator makes for n_samples (None: n_samples)
    table: tuple | None = None  # a bundled table's (rows, features, rows of each class)
