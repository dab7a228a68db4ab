"""Replicas trained together: each replica's weights, curves, callback records and dynamics equal,
bit for bit, the same replica trained alone — for every activation, both outputs, full batch and
mini-batches, every optimizer, L2, early stopping, a replica diverging while the others go on, and
however the replicas are grouped."""

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

import netlab.nn.network as network
from netlab.nn import ACTIVATIONS, Network, TrainingConfig, evaluate, train

R = 3
SETTINGS = {
    "gd": dict(optimizer="gd", learning_rate=0.3),
    "sgd_minibatch": dict(optimizer="sgd", batch_size=16, learning_rate=0.1),
    "momentum": dict(optimizer="momentum", batch_size=16, learning_rate=0.02, momentum=0.9),
    "adam": dict(optimizer="adam", learning_rate=0.01),
    "l2": dict(optimizer="sgd", batch_size=25, learning_rate=0.1, l2=0.3),
    "early_stopping": dict(optimizer="adam", batch_size=16, learning_rate=0.05, early_stopping=True,
                           patience=2),
}


def replica_data(r, n_classes, m=61):
    """Replica r's own data: a different draw for each replica (its own split, as seeds give)."""
    if n_classes == 2:
        X, y = make_moons(m, noise=0.3, random_state=r)
    else:
        X, y = make_blobs(m, centers=n_classes, cluster_std=2.0, random_state=r)
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.T, y


def stacked_data(n_classes, offset=0, m=61):
    pairs = [replica_data(offset + r, n_classes, m) for r in range(R)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class Recorder:
    """A callback keeping every record and active mask."""

    def __init__(self):
        self.records, self.active = [], []

    def __call__(self, epoch, record, net, active):
        assert epoch == len(self.records) + 1
        self.records.append(record)
        self.active.append(active)


def train_both(sizes, activation, config, X, y, validation=None, dtype="float64", probe=None,
               scales=None):
    """Train R replicas stacked and each alone from the same seeds; returns both runs."""
    def make(replicas, seeds):
        net = Network(sizes, activation, dtype, replicas=replicas).initialize("xavier", seeds)
        if scales is not None:
            for l in range(1, net.L + 1):
                net.W[l] *= np.asarray([scales[s] for s in seeds])[:, None, None]
        return net

    stack, recorder = make(R, list(range(R))), Recorder()
    histories = train(stack, X, y, config, [np.random.default_rng(100 + r) for r in range(R)],
                      validation, recorder, probe)
    alone = []
    for r in range(R):
        net, rec = make(1, [r]), Recorder()
        val = None if validation is None else (validation[0][r], validation[1][r])
        (h,) = train(net, X[r], y[r], config, np.random.default_rng(100 + r), val, rec, probe)
        alone.append((net, h, rec))
    return (stack, histories, recorder), alone


def same_history(a, b):
    """Histories equal field by field, a NaN diverged_loss equal to a NaN."""
    nan = (a.diverged_loss, b.diverged_loss)
    if all(v is not None and np.isnan(v) for v in nan):
        a = dataclasses.replace(a, diverged_loss=None)
        b = dataclasses.replace(b, diverged_loss=None)
    return a == b


def assert_identical(stacked, alone):
    """Weights, Histories, callback records (NaN = NaN) and active flags, bit for bit."""
    stack, histories, recorder = stacked
    for r, (net, h, rec) in enumerate(alone):
        for l in range(1, stack.L + 1):
            np.testing.assert_array_equal(stack.parameters()[l - 1][r], net.parameters()[l - 1][0])
        assert same_history(histories[r], h), f"replica {r}: History differs"
        assert len(rec.records) == len(recorder.records[: len(rec.records)])
        for epoch, (mine, theirs) in enumerate(zip(rec.records, recorder.records, strict=False)):
            assert set(mine) == set(theirs)
            for key, value in mine.items():
                np.testing.assert_array_equal(theirs[key][r], value[0], err_msg=f"{key} @ {epoch}")
            assert recorder.active[epoch][r] == rec.active[epoch][0]


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("n_classes", [2, 3], ids=["sigmoid", "softmax"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_replicas_are_bit_identical_to_training_alone(activation, n_classes, setting):
    X, y = stacked_data(n_classes)
    validation = stacked_data(n_classes, offset=10, m=33)
    config = TrainingConfig(epochs=12, **SETTINGS[setting])
    n_out = 1 if n_classes == 2 else n_classes
    stacked, alone = train_both((2, 7, 5, n_out), activation, config, X, y, validation,
                                probe=lambda epoch: epoch % 4 == 1)
    assert_identical(stacked, alone)
    records = stacked[2].records
    assert {"grad_norm_1", "weight_norm_3"} <= set(records[0])  # probe epochs carry dynamics
    assert "grad_norm_1" not in records[1]
    if setting == "early_stopping":
        assert all(h.best_epoch is not None for h in stacked[1])


# each replica its own learning rate, penalty, optimizer numbers and initialisation: what a sweep
# over them trains as one stack
PACKED = {
    "sgd_l2": dict(optimizer="sgd", batch_size=16, learning_rate=(0.05, 0.1, 0.3),
                   l2=(0.1, 0.01, 0.3)),
    "momentum": dict(optimizer="momentum", batch_size=16, learning_rate=(0.02, 0.05, 0.01),
                     momentum=(0.9, 0.5, 0.99)),
    "adam": dict(optimizer="adam", learning_rate=(0.01, 0.02, 0.005), beta1=(0.9, 0.8, 0.95),
                 beta2=(0.999, 0.99, 0.9)),
    "early_stopping": dict(optimizer="adam", batch_size=16, learning_rate=(0.05, 0.1, 0.02),
                           early_stopping=True, patience=2),
}
INITS = ["xavier", "he", "normal"]


@pytest.mark.parametrize("setting", sorted(PACKED))
@pytest.mark.parametrize("n_classes", [2, 3], ids=["sigmoid", "softmax"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_replicas_with_their_own_hyperparameters_are_bit_identical_to_each_alone(
        activation, n_classes, setting):
    X, y = stacked_data(n_classes)
    validation = stacked_data(n_classes, offset=10, m=33)
    n_out = 1 if n_classes == 2 else n_classes
    sizes, probe = (2, 7, 5, n_out), (lambda epoch: epoch % 4 == 1)
    packed = PACKED[setting]
    stack = Network(sizes, activation, replicas=R).initialize(INITS, list(range(R)))
    recorder = Recorder()
    histories = train(stack, X, y, TrainingConfig(epochs=12, **packed),
                      [np.random.default_rng(100 + r) for r in range(R)], validation, recorder,
                      probe)
    alone = []
    for r in range(R):
        own = {k: v[r] if isinstance(v, tuple) else v for k, v in packed.items()}
        net, rec = Network(sizes, activation).initialize(INITS[r], r), Recorder()
        (h,) = train(net, X[r], y[r], TrainingConfig(epochs=12, **own),
                     np.random.default_rng(100 + r), (validation[0][r], validation[1][r]), rec,
                     probe)
        alone.append((net, h, rec))
    assert_identical((stack, histories, recorder), alone)
    assert len({h.train_loss[-1] for h in histories}) == R  # each trained with its own values


def test_per_replica_values_must_fit_the_stack():
    X, y = stacked_data(2)
    net = Network((2, 4, 1), "tanh", replicas=R).initialize("xavier", list(range(R)))
    with pytest.raises(ValueError, match="for 2 replicas, the network has 3"):
        train(net, X, y, TrainingConfig(epochs=2, learning_rate=(0.1, 0.2)), list(range(R)))
    with pytest.raises(ValueError, match="all 0 or none 0"):  # 0 and λ > 0 would differ in a bit
        train(net, X, y, TrainingConfig(epochs=2, l2=(0.0, 0.1, 0.1)), list(range(R)))
    with pytest.raises(ValueError, match="learning_rate=0: must be"):
        train(net, X, y, TrainingConfig(epochs=2, learning_rate=(0.1, 0, 0.2)), list(range(R)))
    small = Network((2, 4, 1), "tanh", "float32", replicas=R).initialize("xavier", list(range(R)))
    with pytest.raises(ValueError, match="need a float64 network, not float32"):
        train(small, X.astype(np.float32), y, TrainingConfig(epochs=2, l2=(0.1, 0.2, 0.3)),
              list(range(R)))
    with pytest.raises(ValueError, match="one scheme per replica"):
        net.initialize(["he", "xavier"], list(range(R)))
    # one value for all, given per replica: the shared number itself
    assert TrainingConfig(learning_rate=(0.1, 0.1, 0.1)).check().learning_rate == 0.1


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_float32_replicas_are_bit_identical(activation):
    X, y = stacked_data(2)
    config = TrainingConfig(epochs=8, optimizer="adam", batch_size=20, learning_rate=0.02, l2=0.1)
    stacked, alone = train_both((2, 6, 1), activation, config, X.astype(np.float32), y,
                                dtype="float32", probe=lambda epoch: True)
    assert stacked[0].W[1].dtype == np.float32
    assert_identical(stacked, alone)


def test_shared_data_different_initialisations():
    """X (n[0], m) and labels (m,) shared by every replica: only the initialisation differs."""
    X, y = replica_data(0, 2)
    config = TrainingConfig(epochs=10, learning_rate=0.5)
    stacked, alone = train_both((2, 5, 1), "tanh", config, np.stack([X] * R), np.stack([y] * R))
    net = Network((2, 5, 1), "tanh", replicas=R).initialize("xavier", list(range(R)))
    histories = train(net, X, y, config, [np.random.default_rng(100 + r) for r in range(R)])
    for r in range(R):
        assert histories[r] == stacked[1][r]
        np.testing.assert_array_equal(net.W[1][r], stacked[0].W[1][r])
    assert histories[0].train_loss != histories[1].train_loss


# ---------------------------------------------------------------- divergence, per replica
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_one_replica_diverges_while_the_others_go_on(activation):
    """An L2 term that multiplies every W by −1e10 each step (lr·λ/m = 1e10 + 1) makes |W| grow
    tenfold ten times an epoch whatever the activation; replica 1 starts at ordinary weights and its
    objective overflows around epoch 16, replicas 0 and 2 start 1e-200 and 1e-100 times smaller and
    outlast the 18 epochs. (Softplus, whose g(0) ≠ 0, re-seeds small weights from the data: its
    small replicas still outlast 18 epochs.)"""
    X, y = stacked_data(2, m=64)
    validation = stacked_data(2, offset=10, m=32)
    config = TrainingConfig(epochs=18, learning_rate=1.0, l2=64 * (1e10 + 1))
    stacked, alone = train_both((2, 6, 1), activation, config, X, y, validation,
                                probe=lambda epoch: epoch % 3 == 0,
                                scales={0: 1e-200, 1: 1.0, 2: 1e-100})
    assert_identical(stacked, alone)
    net, histories, recorder = stacked
    e = histories[1].diverged_epoch
    assert e is not None and 2 < e < 18, e
    assert histories[1].epoch == list(range(1, e))  # its curve ends at the last finite epoch
    assert np.all(np.isfinite(histories[1].objective + histories[1].val_loss))
    assert not np.isfinite(histories[1].diverged_loss)
    for r in (0, 2):
        assert histories[r].diverged_epoch is None and histories[r].epoch[-1] == 18
    assert [a[1] for a in recorder.active] == [True] * (e - 1) + [False] * (18 - e + 1)
    assert all(a[0] and a[2] for a in recorder.active)
    for record in recorder.records[e - 1:]:  # an inactive replica's entries are NaN
        assert all(np.isnan(v[1]) and np.isfinite(v[0]) for v in record.values())


@pytest.mark.parametrize("batch_size", [None, 20], ids=["full_batch", "minibatch"])
@pytest.mark.parametrize("activation", ["relu", "identity", "gelu"])
def test_a_replica_whose_data_overflow_diverges_alone(activation, batch_size):
    """Replica 1's features scaled by 1e200: its forward pass overflows within two epochs."""
    X, y = stacked_data(2)
    X[1] *= 1e200
    config = TrainingConfig(epochs=10, learning_rate=0.5, batch_size=batch_size)
    stacked, alone = train_both((2, 6, 1), activation, config, X, y)
    assert_identical(stacked, alone)
    histories = stacked[1]
    assert histories[1].diverged_epoch is not None and histories[1].diverged_epoch <= 3
    assert histories[0].diverged_epoch is None and histories[2].diverged_epoch is None
    assert len(histories[0].epoch) == len(histories[2].epoch) == 10


def test_divergence_at_the_last_step_is_caught_without_validation():
    """No validation data: the weights the last step produced are checked after the loop; the last
    epoch's finite figures stay in the curve."""
    X, y = stacked_data(2)
    X[1] *= 1e200
    net = Network((2, 6, 1), "relu", replicas=R).initialize("xavier", list(range(R)))
    histories = train(net, X, y, TrainingConfig(epochs=1, learning_rate=0.5), list(range(R)))
    assert histories[1].diverged_epoch == 1 and histories[1].epoch == [1]
    assert histories[0].diverged_epoch is None


# ---------------------------------------------------------------- early stopping, per replica
def test_early_stopping_per_replica_restores_each_ones_best_weights():
    both = stacked_data(2, m=300)  # each replica's training and validation parts of one draw
    X, y = both[0][:, :, :200], both[1][:, :200]
    validation = both[0][:, :, 200:], both[1][:, 200:]
    config = TrainingConfig(epochs=300, optimizer="adam", learning_rate=0.05, batch_size=16,
                            early_stopping=True, patience=3)
    stacked, alone = train_both((2, 8, 1), "tanh", config, X, y, validation)
    assert_identical(stacked, alone)
    net, histories, recorder = stacked
    stops = [len(h.epoch) for h in histories]
    assert all(h.stopped_early for h in histories) and len(set(stops)) > 1, stops
    for r, h in enumerate(histories):  # active until (and at) its own last epoch, then not
        expected = [True] * stops[r] + [False] * (max(stops) - stops[r])
        assert [a[r] for a in recorder.active] == expected
        assert h.val_loss[h.best_epoch - 1] == min(h.val_loss)
    (loss, _) = evaluate(net, *validation)
    np.testing.assert_array_equal(loss, [h.val_loss[h.best_epoch - 1] for h in histories])


# ---------------------------------------------------------------- groups, prediction, copies
def test_groups_of_replicas_do_not_change_any_bits(monkeypatch):
    """Replicas processed one group at a time (tiny CHUNK_BYTES) give the same bits as all at once,
    for training, prediction and evaluation."""
    X, y = stacked_data(3)
    validation = stacked_data(3, offset=10, m=33)
    config = TrainingConfig(epochs=6, optimizer="momentum", batch_size=16, learning_rate=0.05)

    def run():
        net = Network((2, 9, 4, 3), "relu", replicas=R).initialize("he", list(range(R)))
        rec = Recorder()
        hs = train(net, X, y, config, list(range(R)), validation, rec, probe=lambda e: True)
        return net, hs, rec, net.predict_proba(X), evaluate(net, *validation)

    together = run()
    monkeypatch.setattr(network, "CHUNK_BYTES", 1)  # one replica at a time
    assert network.replicas_per_chunk((2, 9, 4, 3), 16, R, "float64") == 1
    apart = run()
    for l in range(1, 4):
        np.testing.assert_array_equal(together[0].W[l], apart[0].W[l])
    assert all(same_history(a, b) for a, b in zip(together[1], apart[1], strict=True))
    for a, b in zip(together[2].records, apart[2].records, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(together[3], apart[3])
    np.testing.assert_array_equal(together[4], apart[4])


def test_predict_proba_per_replica_and_shared_input():
    net = Network((3, 6, 4), "tanh", replicas=R).initialize("xavier", list(range(R)))
    X = np.random.default_rng(0).normal(size=(R, 3, 11))
    stacked = net.predict_proba(X)
    assert stacked.shape == (R, 4, 11)
    for r in range(R):
        np.testing.assert_array_equal(net.replica(r).predict_proba(X[r])[0], stacked[r])
    shared = net.predict_proba(X[0])  # one input for all replicas
    np.testing.assert_array_equal(shared[0], stacked[0])
    assert not np.array_equal(shared[1], shared[0])
    with pytest.raises(ValueError, match="X must be"):
        net.predict_proba(X[:2])


def test_set_parameters_stacked_or_shared_and_replica_copies():
    net = Network((2, 3, 1), "tanh", replicas=2)
    W1 = np.arange(12.0).reshape(2, 3, 2)
    net.set_parameters([W1, np.ones((1, 3))], [np.zeros((2, 3)), np.zeros(1)])
    np.testing.assert_array_equal(net.W[1], W1)
    np.testing.assert_array_equal(net.W[2], np.ones((2, 1, 3)))  # shared: broadcast to both
    one = net.replica(1)
    assert one.replicas == 1
    np.testing.assert_array_equal(one.W[1][0], W1[1])
    one.W[1][...] = 0
    np.testing.assert_array_equal(net.W[1], W1)  # a copy
    view = net.view(1, 2)
    view.W[1][...] = -1  # a view: shares the weights
    np.testing.assert_array_equal(net.W[1][1], -1)
    with pytest.raises(ValueError, match="layer 1"):
        net.set_parameters([np.ones((3, 3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])


def test_rngs_must_be_one_per_replica():
    net = Network((2, 3, 1), replicas=2)
    with pytest.raises(ValueError, match="rngs"):
        net.initialize("xavier", [0])
    with pytest.raises(ValueError, match="rngs"):
        train(net, np.zeros((2, 2, 4)), np.zeros((2, 4), int), TrainingConfig(epochs=1), 0)
    with pytest.raises(ValueError, match="labels"):
        train(net, np.zeros((2, 2, 4)), np.zeros((3, 4), int), TrainingConfig(epochs=1), [0, 1])


def test_a_stack_pickles_and_keeps_its_views():
    import pickle

    net = Network((2, 4, 3), "relu", replicas=2).initialize("he", [0, 1])
    copy = pickle.loads(pickle.dumps(net))
    copy.W[1][...] = 0  # W is still a view of the [W | b] arrays after unpickling
    assert np.all(copy.parameters()[0][:, :, :-1] == 0)
    X = np.ones((2, 2, 5))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(net)).predict_proba(X),
                                  net.predict_proba(X))
