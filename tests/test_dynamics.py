"""Training dynamics at probe epochs, on hand-built cases: a relu unit forced dead, a tanh layer
with huge weights saturated, norms equal to np.linalg.norm."""

import numpy as np
import pytest
from sklearn.datasets import make_moons

from netlab.nn import ACTIVATIONS, NetClassifier, Network, TrainingConfig, train
from netlab.nn.dynamics import MAX_SAMPLES, keys, saturated_share
from netlab.nn.losses import one_hot

X, Y = make_moons(200, noise=0.2, random_state=0)


def probe_once(net, config, X=X.T, y=Y):
    """Train one epoch with the probe on; returns its record."""
    records = []
    train(net, X, y, config, None, callback=lambda e, rec, n, a: records.append(rec),
          probe=lambda epoch: True)
    (record,) = records
    return record


def test_a_relu_unit_forced_dead_is_counted_dead():
    net = Network((2, 4, 3, 1), "relu", replicas=2).initialize("he", [0, 1])
    net.W[1][0, 2] = 0.0  # replica 0, layer 1, unit 2: a = max(0, 0·x − 1) = 0 on every sample
    net.b[1][0, 2] = -1.0
    net.W[2][1] = 0.0  # replica 1, layer 2: every unit's z = b = −1, all dead
    net.b[2][1] = -1.0
    record = probe_once(net, TrainingConfig(epochs=1, learning_rate=0.1, l2=0.5))
    assert record["dead_1"][0] == 0.25 and record["dead_2"][1] == 1.0
    live = net.predict_proba(np.stack([X.T] * 2))  # (a live unit is active somewhere, not dead)
    assert live.shape == (2, 1, 200)
    assert set(record) == set(keys(net)) | {"train_loss", "train_accuracy"}
    assert "dead_3" not in record and "saturated_1" not in record  # hidden layers, relu: dead


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_a_layer_with_huge_weights_saturates(activation):
    net = Network((2, 5, 1), activation, replicas=2).initialize("xavier", [0, 1])
    net.W[1][1] *= 1e3  # replica 1: |z| in the hundreds, g′(z) ≈ 0 almost everywhere
    net.W[1][0] *= 1e-3  # replica 0: z ≈ b = 0, g′ at its maximum
    record = probe_once(net, TrainingConfig(epochs=1, learning_rate=0.1))
    assert record["saturated_1"][0] == 0.0 and record["saturated_1"][1] == 1.0


def test_saturation_is_read_from_at_most_max_samples():
    entry = ACTIVATIONS["tanh"]
    A = np.zeros((1, 2, MAX_SAMPLES + 500))  # g′ = 1: not saturated …
    A[:, 0, MAX_SAMPLES:] = 1.0  # … except beyond the subset, where unit 0 is saturated
    assert saturated_share(entry, A) == 0.0
    A[:, 0, : MAX_SAMPLES // 2 + 1] = 1.0  # saturated on just over half the subset
    assert saturated_share(entry, A) == 0.5


@pytest.mark.parametrize("l2", [0.0, 0.4])
def test_norms_are_those_of_the_gradient_stepped_with_and_of_the_weights_after(l2):
    net = Network((2, 6, 4, 3), "tanh", replicas=2).initialize("xavier", [3, 4])
    labels = np.stack([Y + (X[:, 0] > 1), Y])  # three classes
    before = Network((2, 6, 4, 3), "tanh", replicas=2).set_parameters(net.W[1:], net.b[1:])
    before.forward(np.stack([X.T] * 2))
    before.backward(one_hot(labels, 3), l2)
    record = probe_once(net, TrainingConfig(epochs=1, learning_rate=0.3, l2=l2), X.T, labels)
    for r in range(2):
        for l in (1, 2, 3):
            expected = np.linalg.norm(before.dW[l][r])
            assert record[f"grad_norm_{l}"][r] == pytest.approx(expected, rel=1e-12)
            weights = np.linalg.norm(net.W[l][r])
            assert record[f"weight_norm_{l}"][r] == pytest.approx(weights, rel=1e-12)


def test_probe_epochs_only_and_through_netclassifier():
    seen = []
    NetClassifier((4,), "relu", epochs=6).fit(
        X, Y, callback=lambda epoch, record, net: seen.append(record),
        probe=lambda epoch: epoch in (2, 5))
    assert ["grad_norm_1" in r for r in seen] == [False, True, False, False, True, False]
    assert isinstance(seen[1]["dead_1"], float) and 0 <= seen[1]["dead_1"] <= 1
    assert {"grad_norm_2", "weight_norm_1", "weight_norm_2"} <= set(seen[4])


def test_activations_without_a_statistic_record_norms_only():
    for name, entry in ACTIVATIONS.items():
        net = Network((2, 3, 3, 1), name)
        names = keys(net)
        assert {"grad_norm_1", "grad_norm_3", "weight_norm_3"} <= set(names)
        assert (entry.statistic is None) == (len(names) == 6)
