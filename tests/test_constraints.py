"""Each hyperparameter's rule declared once: what it allows, its default, its one-line error, and
every checker of the network goes through it."""

import inspect
import math

import numpy as np
import pytest

from netlab.nn import (
    ACTIVATIONS,
    CONSTRAINTS,
    Activation,
    HyperparameterError,
    NetClassifier,
    Network,
    TrainingConfig,
    check,
    default,
    describe,
)
from netlab.nn.activations import tanh, tanh_derivative
from netlab.nn.optimizers import make_optimizer

GOOD = [
    ("learning_rate", 0.1, 0.1),
    ("learning_rate", np.float32(0.5), 0.5),
    ("learning_rate", 3, 3.0),
    ("width", np.int64(8), 8),
    ("width", 1, 1),
    ("depth", 0, 0),
    ("epochs", np.int32(5), 5),
    ("batch_size", None, None),
    ("batch_size", np.int64(32), 32),
    ("l2", 0, 0.0),
    ("momentum", 0.0, 0.0),
    ("beta2", np.float64(0.999), 0.999),
    ("early_stopping", np.bool_(True), True),
    ("gradcheck", False, False),
    ("activation", "swish", "swish"),
    ("optimizer", "gd", "gd"),
    ("init", "he", "he"),
    ("dtype", "float32", np.dtype("float32")),
    ("dtype", np.float64, np.dtype("float64")),
    ("hidden_layer_sizes", (np.int64(4), 3), (4, 3)),
    ("hidden_layer_sizes", [], ()),
    ("hidden_layer_sizes", 5, (5,)),
    ("random_state", None, None),
    ("replicas", 100, 100),
    ("validation_fraction", 0.25, 0.25),
]

BAD = [
    ("learning_rate", 0, "learning_rate=0: must be a finite number > 0"),
    ("learning_rate", float("inf"), "learning_rate=inf: must be a finite number > 0"),
    ("learning_rate", float("nan"), "learning_rate=nan: must be a finite number > 0"),
    ("learning_rate", True, "learning_rate=True: must be a finite number > 0"),
    ("learning_rate", "0.1", "learning_rate=0.1: must be a finite number > 0"),
    ("width", 0, "width=0: must be an integer >= 1"),
    ("width", 2.0, "width=2.0: must be an integer >= 1"),
    ("width", np.bool_(True), "width=True: must be an integer >= 1"),
    ("depth", -1, "depth=-1: must be an integer >= 0"),
    ("batch_size", 0, "batch_size=0: must be null (the whole training set) or an integer >= 1"),
    ("momentum", 1.0, "momentum=1.0: must be a number in [0, 1)"),
    ("validation_fraction", 0.0, "validation_fraction=0.0: must be a number in (0, 1)"),
    ("l2", -0.5, "l2=-0.5: must be a finite number >= 0"),
    ("gradcheck", "maybe", "gradcheck=maybe: must be true or false"),
    ("early_stopping", 1, "early_stopping=1: must be true or false"),
    ("activation", "mish", "activation=mish: must be one of gelu, identity, leaky_relu, relu, "
                           "sigmoid, softplus, swish, tanh"),
    ("optimizer", None, "optimizer=None: must be one of adam, gd, momentum, sgd"),
    ("dtype", "float16", "dtype=float16: must be one of float32, float64"),
    ("hidden_layer_sizes", (4, 0), "hidden_layer_sizes=(4, 0): must be a sequence of items, each "
                                   "an integer >= 1"),
    ("replicas", 0, "replicas=0: must be an integer >= 1"),
    ("random_state", -3, "random_state=-3: must be null (fresh entropy) or an integer >= 0"),
]


@pytest.mark.parametrize(("name", "value", "expected"), GOOD)
def test_allowed_values_come_back_as_plain_python(name, value, expected):
    got = check(name, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_refused_values_say_what_is_allowed_in_one_line(name, value, message):
    with pytest.raises(HyperparameterError) as info:
        check(name, value)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and info.value.name == name


def test_the_config_layer_checks_with_its_own_key_names():
    with pytest.raises(ValueError, match=r"^lr=0: must be a finite number > 0$"):
        check("learning_rate", 0, name="lr")
    with pytest.raises(ValueError, match=r"^seeds=0: must be an integer >= 1$"):
        check("replicas", 0, name="seeds")
    assert describe("width") == "an integer >= 1" and describe("depth") == "an integer >= 0"
    assert default("epochs") == 200 and CONSTRAINTS["learning_rate"].default == 0.1
    with pytest.raises(KeyError):
        check("no_such_parameter", 1)


def test_a_new_table_entry_is_allowed_at_once(monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "mytanh", Activation(tanh, tanh_derivative))
    assert check("activation", "mytanh") == "mytanh"
    assert "mytanh" in describe("activation")
    Network((2, 3, 1), "mytanh")


def test_defaults_are_the_tables():
    """NetClassifier's and TrainingConfig's defaults are the table's: stated nowhere else."""
    for name, parameter in inspect.signature(NetClassifier).parameters.items():
        assert parameter.default == CONSTRAINTS[name].default, name
    for name, field in TrainingConfig.__dataclass_fields__.items():
        assert field.default == CONSTRAINTS[name].default, name
    for rule in CONSTRAINTS.values():  # every default satisfies its own rule
        if rule.default is not None:
            assert rule.convert(rule.default) is not None
    assert math.isfinite(default("tol"))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: Network((2, 0, 1)), "layer_sizes"),
        (lambda: Network((2, 3, 1), "mish"), "activation"),
        (lambda: Network((2, 3, 1), dtype="int8"), "dtype"),
        (lambda: Network((2, 3, 1), replicas=True), "replicas"),
        (lambda: Network((2, 3, 1)).initialize("orthogonal", 0), "init"),
        (lambda: make_optimizer("rmsprop", [], 0.1), "optimizer"),
        (lambda: make_optimizer("sgd", [], -1.0), "learning_rate"),
        (lambda: make_optimizer("adam", [], 0.1, beta1=1.0), "beta1"),
        (lambda: TrainingConfig(patience=0).check(), "patience"),
        (lambda: NetClassifier(n_iter_no_change=0).fit(np.eye(4), [0, 1, 0, 1]),
         "n_iter_no_change"),
    ],
)
def test_every_checker_goes_through_the_table(call, name):
    with pytest.raises(HyperparameterError) as info:
        call()
    assert info.value.name == name
