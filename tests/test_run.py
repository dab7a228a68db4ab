"""netlab.run through the real command line: single runs, multiruns, the joblib launcher, Optuna,
rejected overrides, divergence and determinism. Every subprocess runs in a temporary folder, so what
Hydra writes (outputs/, multirun/) can be checked there."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from netlab import config as _schemas  # noqa: F401 - registers the schemas cfg_of composes
from netlab import experiment, snapshots
from netlab.experiment import derive_seeds

ROOT = Path(__file__).resolve().parents[1]


def env(**extra):
    e = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    e.update(extra)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def start(args, cwd, **extra_env):
    """Start `python -m src.run *args` in cwd; returns the Popen (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=cwd, env=env(**extra_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(args, cwd, timeout=120, **extra_env):
    p = start(args, cwd, **extra_env)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def job_lines(out):
    return [line for line in out.splitlines() if line.startswith("#")]


def train_one(cfg, on_epoch=None):
    """Train cfg's network (its seed alone) in process; returns the trained Replica."""
    replicas = experiment.prepare(cfg, [cfg.seed])
    return experiment.train(cfg, replicas, on_epoch=on_epoch)[0]


def cfg_of(*overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


# ---------------------------------------------------------------- rejected overrides
BAD = {
    # name: (arguments, key the one line must name): one of each kind of refusal (Hydra's, the
    # validation's, a sweep's, the Optuna sweeper's, the memory check's) through the real command
    # line; every value is checked in process in tests/test_config.py
    "misspelt key": (["widht=3"], "widht"),
    "width 0": (["width=0"], "width"),
    "multirun: bad value in the last job": (["-m", "width=4,8,0", "epochs=1"], "width"),
    "multirun: misspelt swept key": (["-m", "widht=1,2", "epochs=1"], "widht"),
    "multirun: optuna study, interval end": (["-m", "+experiment=optuna", "lr=interval(0,0.1)"],
                                             "lr"),
    # what cannot fit in memory is refused before anything starts (more in test_config.py)
    "too many replicas": (["-m", "seeds=1000000", "width=256", "dataset.n_samples=20000"],
                          "seeds"),
}


def start_all(commands, limit=2):
    """Start commands (args, cwd) two at a time; returns [(returncode, out, err)] in order."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        p = start(*item)
        out, err = p.communicate(timeout=180)
        return p.returncode, out, err

    with ThreadPoolExecutor(limit) as pool:
        return list(pool.map(one, commands))


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    """Run every bad command, two at a time (they only parse and exit)."""
    folders = {name: tmp_path_factory.mktemp("bad") for name in BAD}
    done = start_all([(args, folders[name]) for name, (args, _) in BAD.items()])
    return {name: (*result, folders[name]) for name, result in zip(BAD, done, strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BAD))
def test_a_rejected_override_exits_with_one_line_and_runs_nothing(rejected, name):
    code, out, err, cwd = rejected[name]
    key = BAD[name][1]
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and key in lines[0], lines[0]
    assert lines[0].startswith("config error: ")
    assert job_lines(out) == [] and "Launching" not in out
    assert list(cwd.iterdir()) == [], "nothing is created: no outputs/, no multirun/"


# ---------------------------------------------------------------- real runs
def read_jobs(sweep_dir):
    """{job number: (results dict without timing, weights dict)} of a finished multirun folder."""
    jobs = {}
    for folder in sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()):
        results = OmegaConf.to_container(OmegaConf.load(folder / "results.yaml"))
        results.pop("train_time_s")
        weights = dict(np.load(folder / "weights.npz")) if (folder / "weights.npz").exists() else {}
        jobs[int(folder.name)] = (results, weights)
    return jobs


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_a_single_run_prints_one_line_and_writes_under_outputs(tmp_path):
    code, out, err = run(["epochs=20", "dataset=iris", "optimizer=adam", "lr=0.01"], tmp_path)
    assert code == 0, err
    lines = [line for line in out.splitlines() if " train " in line]
    assert len(lines) == 1 and "dataset=iris" in lines[0]
    assert " val " in lines[0] and " test " in lines[0]
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]
    (folder,) = tmp_path.glob("outputs/*/*")
    assert {"results.yaml", "weights.npz"} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_a_diverging_job_is_reported_and_the_sweep_goes_on(tmp_path):
    code, out, err = run(["-m", "activation=relu", "lr=1e6,0.1", "epochs=300",
                          "hydra.sweep.dir=s"], tmp_path)
    assert code == 0, err
    first, second = job_lines(out)
    assert "DIVERGED: " in first and " test " in second
    jobs = read_jobs(tmp_path / "s")
    assert jobs[0][0]["diverged"] and jobs[0][1] == {} and not jobs[1][0]["diverged"]



@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_exploding_weights_with_a_finite_loss_are_a_divergence_and_print_no_warning(tmp_path):
    """relu at lr=100: the loss stays finite (0.69) while ‖W‖ reaches 10⁶⁶; it used to end
    FINISHED with 'val 0.500', three NumPy RuntimeWarnings and a garbled hidden-units plot."""
    from mlflow import MlflowClient

    code, out, err = run(["activation=relu", "lr=100", "epochs=200"], tmp_path)
    assert code == 0, err
    assert "Warning" not in out + err, out + err
    (line,) = [line for line in out.splitlines() if "DIVERGED" in line]
    assert re.search(r"DIVERGED: weights overflow \(norm [\d.e+]+ > 1e\+06\) by epoch \d+ ",
                     line), line
    client = MlflowClient()
    (run_,) = client.search_runs([client.get_experiment_by_name("netlab").experiment_id])
    assert run_.info.status == "FAILED" and run_.data.tags["diverged"] == "true"
    assert run_.data.tags["diverged_reason"].startswith("weights overflow")
    assert "hidden_units.png" not in {f.path for f in client.list_artifacts(run_.info.run_id,
                                                                             "plots")}


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_the_final_figures_in_mlflow_are_the_trained_network_measured(tmp_path):
    """epochs=1 printed train 0.83 while MLflow's train_accuracy was 0.13 (the training pass's
    figure, a step behind). Now each curve ends at the measured figure, one point per step, and
    MLflow's value is what the line says."""
    from mlflow import MlflowClient

    code, out, err = run(["epochs=3", "optimizer=sgd", "batch_size=16"], tmp_path)
    assert code == 0, err
    printed = dict(re.findall(r"(train|val|test) (\d\.\d{3})", out))
    client = MlflowClient()
    (run_,) = client.search_runs([client.get_experiment_by_name("netlab").experiment_id])
    for part in ("train", "val", "test"):
        assert f"{run_.data.metrics[f'{part}_accuracy']:.3f}" == printed[part], (part, out)
    for key in ("train_accuracy", "train_loss", "val_accuracy", "val_loss"):
        steps = [m.step for m in client.get_metric_history(run_.info.run_id, key)]
        assert sorted(steps) == [1, 2, 3], (key, steps)  # the curve, no second point at its end


def test_a_loss_that_rises_to_guessing_the_majority_is_a_divergence():
    """The third rule, on its own: finite loss and weights, but the loss rose and the model
    ends no better than always answering the majority class."""
    from types import SimpleNamespace

    from netlab.experiment import Replica, judge

    def replica(losses, accuracies):
        r = Replica(seed=0, data_seed=0, init_seed=0)
        r.history = SimpleNamespace(epoch=list(range(1, len(losses) + 1)), train_loss=losses,
                                    val_accuracy=accuracies, train_accuracy=accuracies)
        r.network = SimpleNamespace(W=[None, np.ones((1, 3, 2))])
        r.data = SimpleNamespace(y_val=np.array([0, 0, 0, 1]), y_train=np.array([0, 1]))
        judge(r)
        return r

    rose = replica([0.7, 0.9, 1.4], [0.75, 0.5, 0.75])  # 0.75 is the majority class's share
    assert rose.diverged and rose.diverged_epoch == 3
    assert rose.diverged_reason == ("loss rose from 0.7 to 1.4, accuracy 0.750 no better than "
                                    "the majority class's 0.750")
    assert not replica([0.7, 0.9, 1.4], [0.75, 0.5, 1.0]).diverged  # it learnt something
    assert not replica([0.7, 0.5, 0.6], [0.5, 0.5, 0.5]).diverged  # its loss fell


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_a_run_diverging_before_its_first_snapshot_ends_as_a_diverged_run(tmp_path):
    # lr=1e300 overflows in epoch 1, before any decision boundary is recorded (the first snapshot
    # is taken after epoch 1): the run ends as every diverged run does, not with an error of its own
    from mlflow import MlflowClient

    code, out, err = run(["activation=relu", "lr=1e300"], tmp_path)
    assert code == 0, err
    assert "DIVERGED: loss not finite at epoch 1" in out + err
    client = MlflowClient()
    (diverged,) = client.search_runs([client.get_experiment_by_name("netlab").experiment_id])
    assert diverged.info.status == "FAILED"
    tags = diverged.data.tags
    assert (tags.get("diverged"), tags.get("diverged_epoch")) == ("true", "1")
    assert tags.get("error") == "diverged: loss not finite at epoch 1"
    assert tags.get("diverged_reason") == "loss not finite at epoch 1"
    files = {f.path for f in client.list_artifacts(diverged.info.run_id)}
    assert "error.txt" not in files and snapshots.FILENAME in files
    path = client.download_artifacts(diverged.info.run_id, snapshots.FILENAME, str(tmp_path))
    assert len(snapshots.load(path)["epochs"]) == 0  # no frame: none was finite yet

@pytest.mark.usefixtures("tracking_uri")
@pytest.mark.slow
def test_the_optuna_study_searches_and_maximises_validation_accuracy(tmp_path):
    code, out, err = run(["-m", "+experiment=optuna", "seeds=1", "hydra.sweeper.n_trials=3",
                          "epochs=5", "hydra.sweep.dir=o"], tmp_path)
    assert code == 0, err
    assert len(job_lines(out)) == 3
    best = OmegaConf.load(tmp_path / "o" / "optimization_results.yaml")
    values = [r[0]["val_accuracy"] for r in read_jobs(tmp_path / "o").values()]
    assert best.best_value == max(values)
    assert set(best.best_params) == {"lr", "width", "depth", "activation"}


@pytest.mark.usefixtures("tracking_uri")
@pytest.mark.slow
def test_a_long_single_run_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    import fcntl
    import signal
    import struct
    import termios

    # on a terminal (a pseudo-terminal of 80 columns) a run of minutes shows its bar within
    # seconds; the test reads until the bar shows, then ends the run with Ctrl-C (no bar in a
    # pipe: tests/test_progress.py)
    epochs = 10_000_000
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "src.run", "width=2", "dataset.n_samples=60",
                          "hydra.run.dir=r", f"epochs={epochs}"],
                         cwd=tmp_path, env=env(), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    try:
        while not re.search(rf"/{epochs}.*epoch/s", b"".join(chunks).decode(errors="replace")):
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=120) == 130
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert f"/{epochs}" in text and "epoch/s" in text, text


# ---------------------------------------------------------------- determinism, in process
def test_the_same_config_gives_bit_identical_weights_twice():
    cfg = cfg_of("dataset=spiral", "depth=2", "epochs=50", "optimizer=sgd", "batch_size=32")
    first, second = train_one(cfg), train_one(cfg)
    for a, b in zip(first.network.parameters(), second.network.parameters(), strict=True):
        assert np.array_equal(a, b)
    assert first.metrics["val_loss"] == second.metrics["val_loss"]
    other = train_one(cfg_of("dataset=spiral", "depth=2", "epochs=50", "optimizer=sgd",
                             "batch_size=32", "seed=1"))
    assert not np.array_equal(other.network.W[1], first.network.W[1])


def test_data_seed_and_init_seed_are_distinct_streams_of_seed():
    assert derive_seeds(0) == derive_seeds(0)
    data_seed, init_seed = derive_seeds(0)
    assert data_seed != init_seed and derive_seeds(1) != (data_seed, init_seed)
    # data_seed=k draws the data seed=k draws, whatever the seed; the init still follows seed
    assert derive_seeds(5, data_seed=1)[0] == derive_seeds(1)[0]
    assert derive_seeds(5, data_seed=1)[1] == derive_seeds(5)[1]


def test_train_results_and_the_epoch_observer():
    epochs = []
    replica = train_one(cfg_of("epochs=7", "optimizer=adam", "lr=0.01"),
                        on_epoch=lambda epoch, record, active: epochs.append((epoch, set(record))))
    assert [e for e, _ in epochs] == list(range(1, 8))
    assert epochs[0][1] == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "test_loss", "test_f1",
                "train_time_s", "epochs_run"):
        assert key in replica.metrics
    assert replica.metrics["epochs_run"] == 7 and not replica.diverged
    assert replica.data.name == "moons"
    assert replica.metrics["val_accuracy"] == replica.history.val_accuracy[-1]


def test_adam_betas_reach_the_optimizer():
    base = ("epochs=20", "optimizer=adam", "lr=0.01")
    a = train_one(cfg_of(*base))
    b = train_one(cfg_of(*base, "optimizer.beta1=0.5", "optimizer.beta2=0.9"))
    assert not np.array_equal(a.network.W[1], b.network.W[1])


def test_a_diverging_run_returns_instead_of_raising():
    replica = train_one(cfg_of("activation=relu", "lr=1e6", "epochs=300"))
    assert replica.diverged and replica.diverged_epoch >= 1
    assert np.isnan(replica.metrics["val_accuracy"])
    assert len(replica.history.epoch) == replica.diverged_epoch - 1  # up to the last finite one


# ---------------------------------------------------------------- Ray (the `ray` extra)
def ray_launcher_installed():
    import importlib.util

    return importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None
