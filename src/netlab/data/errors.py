"""The one error of an unusable dataset: DatasetError, one line naming the key as a config spells
it (`dataset.label=species: no such column in iris.csv (columns: …)`)."""


class DatasetError(ValueError):
    """A dataset that cannot be used; str() is one line: dataset.<key>=<value>: what is wrong."""

    def __init__(self, key, value, problem):
        self.key, self.value, self.problem = f"dataset.{key}", shown(value), problem
        super().__init__(f"{self.key}={self.value}: {problem}")


def shown(value):
    """A value as the command line spells it: null, [a,b], 0.2."""
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(shown(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)
