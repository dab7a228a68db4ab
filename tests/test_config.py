"""Composition of every config and study with hydra.compose; the value checks of src/config.py."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from src import config, data
from src.config import ConfigError, one_line, sweep_jobs, validate

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
STUDIES = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
DATASETS = sorted(p.stem for p in (CONF / "dataset").glob("*.yaml"))
OPTIMIZERS = sorted(p.stem for p in (CONF / "optimizer").glob("*.yaml"))


@pytest.fixture(scope="module")
def hydra_ready():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def make(*overrides, hydra=False):
    return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def test_the_groups_offer_every_dataset_and_optimizer():
    assert DATASETS == sorted(data.DATASETS)
    assert OPTIMIZERS == ["adam", "gd", "momentum", "sgd"]
    assert {"activations", "width", "learning_rate", "depth", "grid", "optuna"} <= set(STUDIES)


def test_defaults_compose_typed_and_valid(hydra_ready):
    cfg = make()
    validate(cfg)
    assert (cfg.dataset.name, cfg.optimizer.name) == ("moons", "gd")
    assert OmegaConf.get_type(cfg.dataset) is config.NoisyConfig
    assert cfg.batch_size is None and isinstance(cfg.lr, float) and isinstance(cfg.width, int)
    for key in ("activation", "width", "depth", "lr", "epochs", "batch_size", "seed", "init", "l2"):
        assert key in cfg


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_group_option_composes_and_validates(hydra_ready, dataset, optimizer):
    cfg = make(f"dataset={dataset}", f"optimizer={optimizer}")
    validate(cfg)
    assert (cfg.dataset.name, cfg.optimizer.name) == (dataset, optimizer)


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_composes_and_every_job_validates(hydra_ready, study):
    text = (ROOT / "experiments" / f"{study}.yaml").read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments[0] == "# @package _global_" and comments[1].startswith("# Question:")
    cfg = make(f"+experiment={study}", hydra=True)
    validate(cfg)
    assert cfg.hydra.sweeper.params, "a study sets its sweep with hydra.sweeper.params"
    jobs = sweep_jobs(cfg)
    assert len(jobs) >= 2
    loader = GlobalHydra.instance().config_loader()
    for job in jobs:
        validate(loader.load_sweep_config(cfg, job))


def test_the_width_study_is_the_flower_exercise(hydra_ready):
    cfg = make("+experiment=width", hydra=True)
    assert (cfg.dataset.name, cfg.dataset.n_samples) == ("flower", 400)
    assert (cfg.activation, cfg.lr, cfg.optimizer.name, cfg.batch_size) == ("tanh", 1.2, "gd", None)
    assert (cfg.init, cfg.epochs, cfg.depth) == ("normal", 5000, 1)
    assert [j[0] for j in sweep_jobs(cfg)] == [f"width={w}" for w in (1, 2, 3, 4, 5, 20, 50)]


def test_the_default_study_crosses_three_activations_with_four_datasets(hydra_ready):
    jobs = sweep_jobs(make("+experiment=activations", hydra=True))
    assert len(jobs) == 12
    assert {j[1] for j in jobs} == {"activation=sigmoid", "activation=tanh", "activation=relu"}
    assert {j[0] for j in jobs} == {f"dataset={d}" for d in ("moons", "circles", "xor", "spiral")}


def test_optuna_study_uses_the_optuna_sweeper_and_checks_both_ends_of_intervals(hydra_ready):
    cfg = make("+experiment=optuna", hydra=True)
    assert "optuna" in cfg.hydra.sweeper._target_.lower()
    assert cfg.hydra.sweeper.direction == "maximize"
    assert set(cfg.hydra.sweeper.params) == {"lr", "width", "depth", "activation"}
    jobs = sweep_jobs(cfg)
    assert {j[0] for j in jobs} == {"lr=0.0003", "lr=0.3"}
    assert {j[1] for j in jobs} == {"width=2", "width=32"}


def test_command_line_sweeps_win_over_study_params(hydra_ready):
    cfg = make("+experiment=activations", "activation=tanh", hydra=True)
    cfg.hydra.overrides.task = ["+experiment=activations", "activation=tanh,relu",
                                "width=range(2,5)"]
    jobs = sweep_jobs(cfg)
    assert len(jobs) == 4 * 2 * 3 and {j[1] for j in jobs} == {"activation=tanh", "activation=relu"}


BAD = [
    # override, key named in the message
    ("width=0", "width"),
    ("width=-3", "width"),
    ("depth=-1", "depth"),
    ("lr=0", "lr"),
    ("lr=-0.1", "lr"),
    ("lr=inf", "lr"),
    ("lr=nan", "lr"),
    ("activation=softsign", "activation"),
    ("epochs=0", "epochs"),
    ("batch_size=0", "batch_size"),
    ("seed=-1", "seed"),
    ("init=zeros", "init"),
    ("l2=-1", "l2"),
    ("dataset.test_size=0", "dataset.test_size"),
    ("dataset.test_size=1", "dataset.test_size"),
    ("dataset.val_size=0.9", "dataset.val_size"),
    ("dataset.noise=-0.1", "dataset.noise"),
    ("dataset.n_samples=4", "dataset.n_samples"),
    ("optimizer=momentum optimizer.momentum=1", "optimizer.momentum"),
    ("optimizer=adam optimizer.beta1=1.5", "optimizer.beta1"),
    ("dataset=circles dataset.factor=1", "dataset.factor"),
    ("dataset=blobs dataset.centers=1", "dataset.centers"),
    ("dataset=classification dataset.n_classes=8", "dataset.n_classes"),
    ("dataset=digits dataset.test_size=0.001", "dataset.n_samples"),
]


@pytest.mark.parametrize("overrides,key", BAD)
def test_validate_names_the_key_the_value_and_what_is_allowed(hydra_ready, overrides, key):
    cfg = make(*overrides.split())
    if key == "dataset.n_samples" and "n_samples" not in cfg.dataset:
        with pytest.raises(ValueError):  # a fixed table: the split itself is checked by data.load
            data.load(cfg.dataset.name, test_size=cfg.dataset.test_size,
                      val_size=cfg.dataset.val_size)
        return
    with pytest.raises(ConfigError) as caught:
        validate(cfg)
    message = str(caught.value)
    assert message.startswith(f"{key}=") and "must be" in message and "\n" not in message


@pytest.mark.parametrize("override", ["widht=3", "width=abc", "width=2.5", "dataset.noise=x",
                                      "optimizer.beta1=0.5", "dataset=nope"])
def test_hydra_rejects_misspelt_keys_and_wrong_types_in_one_line(hydra_ready, override):
    with pytest.raises(ConfigCompositionException) as caught:
        make(override)
    line = one_line(caught.value)
    assert "\n" not in line and override.split("=")[0].split(".")[-1] in line
