"""src/data.py: every dataset, its split and standardisation, the three teaching sets."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from src import data

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_every_dataset_splits_stratified_and_standardised_on_train(name):
    d = data.load(name, seed=3)
    parts = [(d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)]
    rows = d.params["rows"]
    n_train, n_val, n_test = data.split_sizes(rows, 0.2, 0.2)
    assert [len(y) for _, y in parts] == [n_train, n_val, n_test]
    assert all(X.shape == (len(y), d.n_features) for X, y in parts)
    assert d.is_2d == (d.n_features == 2)
    # labels 0..k-1, every class in every part, in about the same proportion (stratified)
    assert set(np.unique(d.y_train)) == set(range(d.n_classes))
    share = np.bincount(d.y_train, minlength=d.n_classes) / n_train
    for _, y in parts[1:]:
        assert set(np.unique(y)) == set(range(d.n_classes))
        np.testing.assert_allclose(np.bincount(y, minlength=d.n_classes) / len(y), share, atol=0.1)
    # the scaler is fitted on the training part only
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-9)
    std = d.X_train.std(axis=0)
    np.testing.assert_allclose(std[std > 0], 1)
    assert abs(d.X_test.mean()) > 1e-12  # not refitted on the test part


@pytest.mark.parametrize("name", ["moons", "flower", "xor", "spiral", "iris"])
def test_same_seed_same_data_other_seed_other_data(name):
    a, b, c = data.load(name, seed=1), data.load(name, seed=1), data.load(name, seed=2)
    for part in ("X_train", "y_train", "X_val", "X_test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.X_train, c.X_train)


def test_teaching_sets_never_touch_numpy_global_state():
    for make in (data.make_flower, data.make_xor, data.make_spiral):
        np.random.seed(0)
        X1, y1 = make(rng=7)
        np.random.seed(1)
        X2, y2 = make(rng=7)
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)


def test_flower_follows_the_course_definition():
    rng = np.random.default_rng(5)
    X, y = data.make_flower(400, 0.2, np.random.default_rng(5))
    N = 200
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + 0.2 * rng.standard_normal(N)
        r = 4 * np.sin(4 * t) + 0.2 * rng.standard_normal(N)
        expected = np.column_stack([r * np.sin(t), r * np.cos(t)])
        np.testing.assert_array_equal(X[j * N:(j + 1) * N], expected)
        assert (y[j * N:(j + 1) * N] == j).all()


def test_xor_pads_coordinates_and_labels_by_quadrant():
    X, y = data.make_xor(1000, noise=0.0, rng=0)
    assert X.shape == (1000, 2) and (np.abs(X) >= 0.3).all() and (np.abs(X) <= 5.3).all()
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    _, noisy = data.make_xor(1000, noise=0.5, rng=0)
    assert 0 < (noisy != y).mean() < 0.5  # noise flips some labels, coordinates stay clean


def test_spiral_has_two_interleaved_arms():
    X, y = data.make_spiral(500, noise=0.0, rng=0)
    N = 250
    i = np.arange(N)
    r, t = 5 * i / N, 1.75 * i / N * 2 * np.pi
    np.testing.assert_allclose(X[:N], np.column_stack([r * np.sin(t), r * np.cos(t)]))
    np.testing.assert_allclose(X[N:], -X[:N], atol=1e-12)  # the second arm is turned by π
    assert (y[:N] == 0).all() and (y[N:] == 1).all()


def test_the_yaml_defaults_are_the_generators_defaults():
    for name, source in data.DATASETS.items():
        cfg = OmegaConf.load(CONF / "dataset" / f"{name}.yaml")
        skip = ("defaults", "name", "test_size", "val_size")
        given = {k: v for k, v in cfg.items() if k not in skip}
        assert given == source.defaults, name
        assert cfg.name == name


def test_too_few_rows_to_split_is_an_error():
    with pytest.raises(ValueError, match="fewer rows than the 3 classes"):
        data.load("blobs", n_samples=8)
    with pytest.raises(ValueError, match="fixed table"):
        data.load("iris", noise=0.1)
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load("mnist")


def test_params_name_the_generator_and_its_parameters():
    d = data.load("circles", seed=4, noise=0.05)
    assert d.params["generator"] == "sklearn.datasets.make_circles"
    assert d.params["noise"] == 0.05 and d.params["factor"] == 0.5 and d.params["seed"] == 4
    assert data.load("digits").params["generator"] == "sklearn.datasets.load_digits"
