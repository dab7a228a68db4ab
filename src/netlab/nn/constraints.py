"""Every hyperparameter's rule and default, declared once (like scikit-learn's parameter checks).

CONSTRAINTS maps a hyperparameter's name to its Rule: what values are allowed and the default.
NetClassifier, TrainingConfig.check, Network and make_optimizer all check through check(); the
config layer calls it with its own key names:

    check("learning_rate", cfg.lr, name="lr")     # -> 0.1, or raises
    HyperparameterError: lr=0: must be a finite number > 0
    CONSTRAINTS["width"].description              # "an integer >= 1"
    CONSTRAINTS["epochs"].default                 # 200

A rule accepts NumPy scalars (np.float32(0.1) as a learning rate, np.int64(8) as a width) and
returns the value as a plain Python one; it rejects bools where numbers are meant. The choices of
activation, init and optimizer are read from their tables when checked, so a new table entry is
allowed at once.

scikit-learn's own sklearn.utils._param_validation is private, accepts bools as integers and
infinity as a real number, and words its errors differently; this module is the few lines we need.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np


class HyperparameterError(ValueError):
    """A value a hyperparameter does not allow; str() is "<name>=<value>: must be <rule>"."""

    def __init__(self, name, value, description):
        super().__init__(f"{name}={_show(value)}: must be {description}")
        self.name, self.value, self.description = name, value, description


def _show(value):
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) and (not value or " " in value) else str(value)


def _is_bool(value):
    return isinstance(value, bool | np.bool_)


# ---------------------------------------------------------------- kinds of rule
@dataclass(frozen=True)
class Integer:
    """An integer in [low, high] (high None: no upper bound); never a bool, never 8.0."""

    low: int
    high: int | None = None

    def describe(self):
        if self.high is None:
            return f"an integer >= {self.low}"
        return f"an integer in [{self.low}, {self.high}]"

    def convert(self, value):
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            return None
        value = int(value)
        ok = value >= self.low and (self.high is None or value <= self.high)
        return value if ok else None


@dataclass(frozen=True)
class Real:
    """A finite number in an interval; closed says which ends belong to it."""

    low: float
    high: float = math.inf
    closed: str = "left"  # "left", "right", "both" or "neither"

    def describe(self):
        left, right = self.closed in ("left", "both"), self.closed in ("right", "both")
        if self.high == math.inf:
            return f"a finite number {'>=' if left else '>'} {self.low:g}"
        low, high = "[" if left else "(", "]" if right else ")"
        return f"a number in {low}{self.low:g}, {self.high:g}{high}"

    def convert(self, value):
        if _is_bool(value) or not isinstance(value, numbers.Real):
            return None
        value = float(value)
        if not math.isfinite(value):
            return None
        left, right = self.closed in ("left", "both"), self.closed in ("right", "both")
        above = value >= self.low if left else value > self.low
        below = value <= self.high if right else value < self.high
        return value if above and below else None


@dataclass(frozen=True)
class OneOf:
    """One of a set of strings, or of a table's keys (read when checked: later entries count)."""

    choices: object  # a tuple of strings, or a dict whose keys are the choices

    def options(self):
        return sorted(self.choices)

    def describe(self):
        return "one of " + ", ".join(self.options())

    def convert(self, value):
        return value if isinstance(value, str) and value in self.choices else None


@dataclass(frozen=True)
class Boolean:
    """True or False (a NumPy bool too); never 0, 1 or "maybe"."""

    def describe(self):
        return "true or false"

    def convert(self, value):
        return bool(value) if _is_bool(value) else None


@dataclass(frozen=True)
class Dtype:
    """A floating-point precision: "float64", "float32" or the NumPy dtype; converts to np.dtype."""

    names: tuple = ("float32", "float64")

    def describe(self):
        return "one of " + ", ".join(self.names)

    def convert(self, value):
        try:
            name = np.dtype(value).name
        except TypeError:
            return None
        return np.dtype(name) if name in self.names else None


@dataclass(frozen=True)
class Sequence:
    """A sequence (tuple, list, array) of items each satisfying `item`, at least min_length long;
    a bare item counts as a sequence of one when bare_item is set. Converts to a tuple."""

    item: object
    min_length: int = 0
    bare_item: bool = False

    def describe(self):
        least = f"at least {self.min_length} " if self.min_length else ""
        return f"a sequence of {least}items, each {self.item.describe()}"

    def convert(self, value):
        if self.bare_item and self.item.convert(value) is not None:
            value = (value,)
        if isinstance(value, str | bytes) or _is_bool(value):
            return None
        try:
            items = tuple(value)
        except TypeError:
            return None
        converted = tuple(self.item.convert(v) for v in items)
        if len(items) < self.min_length or any(c is None for c in converted):
            return None
        return converted


@dataclass(frozen=True)
class Rule:
    """A hyperparameter's rule: its kind, whether None is allowed, and its default."""

    kind: object
    default: object
    nullable: bool = False
    meaning_of_none: str = ""

    @property
    def description(self):
        """What is allowed, as the words after "must be"."""
        text = self.kind.describe()
        if self.nullable:
            text = f"null{f' ({self.meaning_of_none})' if self.meaning_of_none else ''} or {text}"
        return text

    def convert(self, value):
        """The value as a plain Python one, or None if it is not allowed (see nullable)."""
        return self.kind.convert(value)


def _tables():
    # imported here: the tables' modules check their own arguments through this one
    from .activations import ACTIVATIONS
    from .initializers import INITIALIZERS
    from .optimizers import OPTIMIZERS

    return ACTIVATIONS, INITIALIZERS, OPTIMIZERS


class _Keys:
    """The keys of a table named by index in _tables(), read when checked."""

    def __init__(self, index):
        self.index = index

    def __contains__(self, value):
        return value in _tables()[self.index]

    def __iter__(self):
        return iter(_tables()[self.index])


_WIDTH = Integer(1)

CONSTRAINTS = {
    # architecture
    "hidden_layer_sizes": Rule(Sequence(_WIDTH, bare_item=True), (100,)),
    "layer_sizes": Rule(Sequence(_WIDTH, min_length=2), None),
    "width": Rule(_WIDTH, 8),
    "depth": Rule(Integer(0), 1),
    "activation": Rule(OneOf(_Keys(0)), "relu"),
    "init": Rule(OneOf(_Keys(1)), "xavier"),
    "dtype": Rule(Dtype(), "float64"),
    "replicas": Rule(Integer(1), 1),
    # training
    "learning_rate": Rule(Real(0, closed="neither"), 0.1),
    "epochs": Rule(Integer(1), 200),
    "batch_size": Rule(Integer(1), None, nullable=True, meaning_of_none="the whole training set"),
    "optimizer": Rule(OneOf(_Keys(2)), "sgd"),
    "l2": Rule(Real(0), 0.0),
    "momentum": Rule(Real(0, 1), 0.9),
    "beta1": Rule(Real(0, 1), 0.9),
    "beta2": Rule(Real(0, 1), 0.999),
    "early_stopping": Rule(Boolean(), False),
    "patience": Rule(Integer(1), 10),
    "n_iter_no_change": Rule(Integer(1), 10),
    "tol": Rule(Real(0), 1e-4),
    "validation_fraction": Rule(Real(0, 1, closed="neither"), 0.1),
    "gradcheck": Rule(Boolean(), False),
    # the estimator
    "random_state": Rule(Integer(0), 0, nullable=True, meaning_of_none="fresh entropy"),
    "warm_start": Rule(Boolean(), False),
}


DEFAULTS = {param: rule.default for param, rule in CONSTRAINTS.items()}  # for signatures


def check(param, value, name=None):
    """value -> the plain Python value param allows; raises HyperparameterError (a ValueError)
    naming `name` (default: param) and what is allowed. Unknown param: KeyError."""
    rule = CONSTRAINTS[param]
    if value is None and rule.nullable:
        return None
    converted = None if value is None else rule.convert(value)
    if converted is None:
        raise HyperparameterError(name or param, value, rule.description)
    return converted


def describe(param):
    """What param allows, e.g. "an integer >= 1"."""
    return CONSTRAINTS[param].description


def default(param):
    """param's default value."""
    return CONSTRAINTS[param].default
