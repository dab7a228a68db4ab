"""Composition of every config and study with hydra.compose; the value checks of netlab.config."""

import os
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from netlab import config, data
from netlab.config import ConfigError, one_line, validate
from netlab.hydra_glue.jobs import of_config as sweep_jobs

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


def own_data(dataset, folder):
    """What dataset=csv and dataset=npz need: the example CSV, an .npz written to folder."""
    if dataset == "csv":
        return [f"dataset.path={ROOT / 'examples' / 'leaves.csv'}", "dataset.label=tree"]
    if dataset == "npz":
        np.savez(folder / "data.npz", X=np.arange(40.0).reshape(20, 2), y=np.arange(20) % 2)
        return [f"dataset.path={folder / 'data.npz'}"]
    return []


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_group_option_composes_and_validates(hydra_ready, dataset, optimizer, tmp_path):
    cfg = make(f"dataset={dataset}", f"optimizer={optimizer}", *own_data(dataset, tmp_path))
    validate(cfg)
    assert (cfg.dataset.name, cfg.optimizer.name) == (dataset, optimizer)


@pytest.mark.slow
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
    ("dataset=digits dataset.test_size=0.001", "dataset.test_size"),
    ("dataset=csv", "dataset.path"),
]


@pytest.mark.parametrize("overrides,key", BAD)
def test_validate_names_the_key_the_value_and_what_is_allowed(hydra_ready, overrides, key):
    cfg = make(*overrides.split())
    with pytest.raises(ConfigError) as caught:
        validate(cfg)
    message = str(caught.value)
    assert message.startswith(f"{key}=") and "\n" not in message
    assert any(words in message for words in ("must be", "every class needs", "missing"))


TOO_BIG = [
    # overrides, the key the refusal names
    ("width=100000000", "width"),
    ("dataset.n_samples=1000000000", "dataset.n_samples"),
    ("seeds=1000000 width=256 dataset.n_samples=20000", "seeds"),
    ("width=5000 depth=3 dataset.n_samples=100000", "width"),
]


@pytest.mark.parametrize("overrides,key", TOO_BIG)
def test_a_job_that_cannot_fit_in_memory_is_refused_naming_its_key(hydra_ready, overrides, key):
    from netlab import resources

    cfg = make(*overrides.split())
    validate(cfg)
    with pytest.raises(MemoryError) as caught:
        resources.check(cfg)
    message = str(caught.value)
    assert message.startswith(f"{key}=") and "GB" in message and "limit" in message
    assert "\n" not in message
    resources.check(make())  # the default fits
    with pytest.raises(MemoryError):  # and a limit of its own is a config key
        resources.check(make("memory_limit=0.00001"))


def test_parallel_workers_must_fit_together(hydra_ready):
    from netlab import resources

    cfg = make("width=2000", "dataset.n_samples=20000")
    need = resources.estimate(cfg).total
    limited = make("width=2000", "dataset.n_samples=20000", f"memory_limit={1.5 * need / 2**30}")
    resources.check(limited)
    with pytest.raises(MemoryError, match="2 parallel workers"):
        resources.check(limited, workers=2)


def test_the_memory_available_is_the_cgroups_where_it_allows_less(tmp_path):
    """A process in a memory cgroup of 1 GB (a container, a SLURM job's cgroup) counts what that
    cgroup still allows, not the machine's MemAvailable (a real cgroup: v1 or v2, as root)."""
    import subprocess
    import sys

    lines = Path("/proc/self/cgroup").read_text().splitlines()
    v1 = next((line.split(":", 2)[2] for line in lines if line.split(":")[1] == "memory"), None)
    v2 = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)
    folder = (Path(f"/sys/fs/cgroup/memory{v1}") if v1 is not None
              else Path(f"/sys/fs/cgroup{v2}")) / f"netlab-test-{os.getpid()}"
    limit_file = "memory.limit_in_bytes" if v1 is not None else "memory.max"
    try:
        folder.mkdir()
        (folder / limit_file).write_text(str(2**30))
    except OSError as error:
        pytest.skip(f"no memory cgroup can be made here: {error}")
    try:  # the child moves itself into the cgroup, then measures
        done = subprocess.run(
            [sys.executable, "-c", "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid()))"
             "; exec(sys.argv[2])", str(folder / "cgroup.procs"),
             "from netlab import resources; print(resources.available_bytes())"],
            capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert 0 < int(done.stdout) <= 2**30
    finally:
        folder.rmdir()


@pytest.mark.parametrize("overrides,key", [
    ("+widht=3", "widht"), ("+dataset.path=x.csv", "dataset.path"), ("seeds=0", "seeds"),
    ("seeds=-2", "seeds"), ("data_seed=-1", "data_seed"),
])
def test_control_and_extra_keys_are_checked(hydra_ready, overrides, key):
    with pytest.raises(ConfigError) as caught:
        validate(make(overrides))
    assert str(caught.value).startswith(f"{key}=") and "\n" not in str(caught.value)


@pytest.mark.parametrize("override", ["seeds=2.5", "seeds=abc", "gradcheck=maybe"])
def test_hydra_rejects_wrong_types_of_the_new_keys(hydra_ready, override):
    with pytest.raises(ConfigCompositionException) as caught:
        make(override)
    assert override.split("=")[0] in one_line(caught.value)


@pytest.mark.parametrize("override", ["widht=3", "width=abc", "width=2.5", "dataset.noise=x",
                                      "optimizer.beta1=0.5", "dataset=nope"])
def test_hydra_rejects_misspelt_keys_and_wrong_types_in_one_line(hydra_ready, override):
    with pytest.raises(ConfigCompositionException) as caught:
        make(override)
    line = one_line(caught.value)
    assert "\n" not in line and override.split("=")[0].split(".")[-1] in line



@pytest.mark.parametrize("override, line", [
    ("widht=3", "widht=3: not a key of this config (did you mean width?)"),
    ("activaton=relu", "activaton=relu: not a key of this config (did you mean activation?)"),
    ("learning_rate=0.1", "learning_rate=0.1: not a key of this config (did you mean lr?)"),
    ("max_iter=5", "max_iter=5: not a key of this config (did you mean epochs?)"),
    ("dataset.nois=0.1",
     "dataset.nois=0.1: not a key of this config (did you mean dataset.noise?)"),
])
def test_an_unknown_key_with_or_without_plus_gets_what_it_looks_like(hydra_ready, override, line):
    """Hydra's own line advises `+widht=3`, which would append the typo; ours names the key it
    looks like (a typo, or the estimator's name for it), as the `+` form's validation does."""
    with pytest.raises(ConfigCompositionException) as caught:
        make(override)
    assert one_line(caught.value).startswith(line + "; the keys here are ")
    with pytest.raises(ConfigError) as caught:
        validate(make("+" + override))
    assert str(caught.value).startswith(line + "; the keys here are ")


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_a_job_checked_from_its_group_choice_is_what_hydra_composes(hydra_ready, study):
    # the sweep checks each job on a copy of its group choice's composition with its plain values
    # set (netlab.hydra_glue.jobs.Composer); it must be Hydra's own composition, errors included
    from omegaconf import open_dict, read_write

    from netlab.hydra_glue.jobs import Composer

    def outcome(compose_job, job):
        try:
            cfg = compose_job(job)
        except Exception as error:  # noqa: BLE001 - the error is the outcome compared
            return f"{type(error).__name__}: {error}"
        if "hydra" in cfg:
            with read_write(cfg), open_dict(cfg):
                del cfg["hydra"]
        return (OmegaConf.to_yaml(cfg), OmegaConf.get_type(cfg), OmegaConf.is_struct(cfg))

    cfg = make(f"+experiment={study}", hydra=True)
    loader = GlobalHydra.instance().config_loader()
    composer = Composer(loader, cfg)
    jobs = sweep_jobs(cfg, loader)
    extra = [["dataset=spiral", "optimizer=adam", "optimizer.beta1=0.5", "width=3", "+force=true",
              "seeds=2", "hydra.job.chdir=false"], ["dataset.noise=0.3", "l2=0.1"],
             ["width=abc"], ["widht=3"], ["optimizer=momentum", "optimizer.momentum=0.5"]]
    for job in [*jobs[:6], *([*jobs[0], *more] for more in extra)]:
        ours = outcome(composer, job)
        assert ours == outcome(lambda j: loader.load_sweep_config(cfg, list(j)), job), job
    assert len(composer.bases) < len(jobs[:6]) + len(extra)  # group choices composed once


def test_help_lists_the_groups_a_user_chooses_from_and_not_the_schemas():
    """`python -m src.run --help` lists conf/'s groups with their options (issue 21: it listed
    netlab's internal `schema/...` groups beside them)."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "src.run", "--help"], cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    groups = [line.split(":")[0] for line in section.splitlines() if ": " in line]
    assert groups == ["dataset", "experiment", "optimizer"], done.stdout
    assert "experiment: activations, depth, grid," in done.stdout
    assert "\nactivation: tanh\n" in done.stdout  # the config follows, as in Hydra's own help
