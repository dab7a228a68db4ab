"""A run's identity (netlab.identity): what changes training changes the hash, nothing else does."""

import shutil

import pytest

from netlab import identity
from netlab.paths import PROJECT_ROOT
from tests.test_tracking_sweep import run, runs_of

BASE = {"activation": "tanh", "width": 8, "depth": 1, "lr": 0.5, "epochs": 100,
        "batch_size": None, "seed": 0, "data_seed": None, "init": "xavier", "l2": 0.0,
        "optimizer": {"name": "gd"}, "dataset": {"name": "moons", "n_samples": 500}}


def test_keys_that_cannot_matter_are_normalised_away():
    logistic = {**BASE, "depth": 0}
    hashes = {identity.config_hash({**logistic, "width": w, "activation": a})
              for w in (4, 8) for a in ("tanh", "relu")}
    assert len(hashes) == 1  # depth 0: one logistic regression, whatever width and activation
    _, notes = identity.normalise(logistic)
    assert set(notes) == {"width", "activation"} and "depth 0" in notes["width"]
    assert identity.config_hash({**BASE, "width": 4}) != identity.config_hash(BASE)
    # a mini-batch holding the whole training part is full-batch gradient descent
    assert identity.config_hash({**BASE, "batch_size": 300}, n_train=300) == \
        identity.config_hash(BASE, n_train=300)
    assert identity.config_hash({**BASE, "batch_size": 299}, n_train=300) != \
        identity.config_hash(BASE, n_train=300)
    # data_seed equal to seed draws the data seed draws anyway
    assert identity.config_hash({**BASE, "data_seed": 0}) == identity.config_hash(BASE)
    assert identity.config_hash({**BASE, "data_seed": 1}) != identity.config_hash(BASE)


def test_data_content_and_training_code_are_part_of_the_identity():
    assert identity.config_hash(BASE, "aaaa") != identity.config_hash(BASE, "bbbb")
    assert identity.config_hash(BASE, code="1") != identity.config_hash(BASE, code="2")


def test_the_seeds_of_one_configuration_share_their_group(tmp_path):
    (a, group_a), (b, group_b) = identity.of_seeds(BASE, [0, 1])
    assert a != b and group_a == group_b
    assert a == identity.config_hash(BASE)  # replica 0 is the run seed=0 alone


def test_the_code_hash_follows_training_code_only(tmp_path):
    for entry in identity.TRAINING_CODE:
        source = PROJECT_ROOT / entry
        target = tmp_path / entry
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (tmp_path / "src" / "netlab" / "report.py").write_text("# not training code\n")
    before = identity.code_hash.__wrapped__(tmp_path)
    assert before == identity.code_hash.__wrapped__(PROJECT_ROOT)  # contents, not location
    (tmp_path / "src" / "netlab" / "report.py").write_text("# edited\n")
    assert identity.code_hash.__wrapped__(tmp_path) == before
    network = tmp_path / "src" / "netlab" / "nn" / "network.py"
    network.write_text(network.read_text() + "\n# a comment is an edit of training code too\n")
    assert identity.code_hash.__wrapped__(tmp_path) != before


def test_the_training_code_is_every_module_of_the_network_the_data_and_the_experiment():
    files = set(identity.training_files())
    for package in ("nn", "data"):
        modules = {p.relative_to(PROJECT_ROOT)
                   for p in (PROJECT_ROOT / "src" / "netlab" / package).rglob("*.py")}
        assert modules and modules <= files, package
    assert all((PROJECT_ROOT / entry).exists() for entry in identity.TRAINING_CODE)


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_a_sweep_trains_one_logistic_regression_for_depth_0(tmp_path):
    result = run(["-m", "depth=0", "width=4,8", "activation=tanh,relu", "epochs=5",
                  "mlflow.experiment=logistic", "hydra.sweep.dir=s"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 runs (1 finished), 3 skipped" in result.stderr
    _, children = runs_of("logistic")
    (child,) = children
    assert child.data.params["width"] == "null" and child.data.params["activation"] == "null"
    assert "depth 0" in child.data.tags["normalised"]
