"""memory_bytes() against what a training really allocates (tracemalloc sees NumPy's buffers): an
upper bound, and not a wild one."""

import tracemalloc

import numpy as np
import pytest

import netlab.nn.network as network
from netlab.nn import Network, TrainingConfig, memory_bytes, train

CASES = {
    "full_batch_sgd": dict(sizes=(5, 64, 1), m=3000, m_val=0, batch=None, R=1, opt="sgd",
                           act="tanh"),
    "validation_adam": dict(sizes=(5, 32, 16, 4), m=2000, m_val=700, batch=None, R=3, opt="adam",
                            act="relu"),
    "minibatch_momentum": dict(sizes=(8, 48, 1), m=2500, m_val=500, batch=128, R=4, opt="momentum",
                               act="gelu"),
    "float32_swish": dict(sizes=(3, 40, 2), m=1500, m_val=300, batch=None, R=2, opt="gd",
                          act="swish", dtype="float32"),
    "many_small_replicas": dict(sizes=(2, 4, 1), m=240, m_val=80, batch=None, R=100, opt="gd",
                                act="tanh", epochs=300),
    "early_stopping": dict(sizes=(4, 30, 3), m=1000, m_val=250, batch=50, R=2, opt="adam",
                           act="sigmoid", early=True),
}


def measured_peak(case):
    """Peak bytes NumPy allocates, from creating the data to the end of training."""
    R, sizes, dtype = case["R"], case["sizes"], case.get("dtype", "float64")
    rng = np.random.default_rng(0)
    tracemalloc.start()
    try:
        X = rng.standard_normal((R, sizes[0], case["m"])).astype(dtype)
        y = rng.integers(0, max(2, sizes[-1]), (R, case["m"]))
        validation = None
        if case["m_val"]:
            validation = (rng.standard_normal((R, sizes[0], case["m_val"])).astype(dtype),
                          rng.integers(0, max(2, sizes[-1]), (R, case["m_val"])))
        net = Network(sizes, case["act"], dtype, replicas=R).initialize("xavier", list(range(R)))
        config = TrainingConfig(epochs=case.get("epochs", 2), optimizer=case["opt"],
                                batch_size=case["batch"],
                                learning_rate=0.01, early_stopping=case.get("early", False))
        train(net, X, y, config, list(range(R)), validation, lambda *a: None,
              probe=lambda epoch: True)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def estimate(case):
    return memory_bytes(case["sizes"], case["m"], case["m_val"], case["batch"], case["R"],
                        case["opt"], case.get("dtype", "float64"), case["act"],
                        early_stopping=case.get("early", False), epochs=case.get("epochs", 2))


@pytest.mark.parametrize("name", sorted(CASES))
def test_estimate_bounds_what_training_allocates(name):
    case = CASES[name]
    peak, guess = measured_peak(case), estimate(case)
    assert peak <= guess <= 2.5 * peak + 2**20, f"peak {peak:,} B, estimate {guess:,} B"


def test_estimate_follows_the_groups_of_replicas(monkeypatch):
    """With replicas trained a group at a time, the batch buffers are a group's, not all R's."""
    case = dict(CASES["full_batch_sgd"], R=6, m=300)  # six replicas' buffers fit in one group
    together = estimate(case)
    monkeypatch.setattr(network, "CHUNK_BYTES", 1)
    apart, peak = estimate(case), measured_peak(case)
    assert apart < together and peak <= apart <= 2.5 * peak


def test_estimate_scales_and_refuses_nonsense():
    small = memory_bytes((2, 8, 1), 1000)
    assert memory_bytes((2, 8, 1), 1000, replicas=10) > 5 * small
    assert memory_bytes((2, 100_000_000, 1), 1000) > 100 * 2**30  # the width=1e8: > 100 GiB
    assert memory_bytes((2, 8, 1), 1000, optimizer="adam") > memory_bytes((2, 8, 1), 1000)
    with pytest.raises(ValueError, match="replicas"):
        memory_bytes((2, 8, 1), 1000, replicas=0)
