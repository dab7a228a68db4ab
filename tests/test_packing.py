"""Packing: a grid's configurations that one stack of replicas can hold (the same network, other
learning rates, penalties, initialisations, seeds) launched as one job, each member's runs exactly
those its own job would have made: the same config hashes, params, names, tags and figures, bit for
bit; resumed and forced per run."""

import re

import pytest
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient
from omegaconf import OmegaConf

from netlab import config as _schemas  # noqa: F401 - registers the schemas compose() needs
from netlab.config import ConfigError, validate
from netlab.hydra_glue import packing
from tests.sweeps import ROOT, run_sweep, runs_of


def composed(job):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(job))


def grid_of(*axes):
    """Every job of the grid whose axes are lists of override lines, in Hydra's order."""
    jobs = [[]]
    for axis in axes:
        jobs = [[*job, line] for job in jobs for line in axis]
    return jobs


def members_of(launched):
    """[[grid job number, …] per launched job]."""
    found = []
    for job in launched:
        entry = next((line for line in job if line.startswith("pack=")), None)
        found.append([int(n) for n in re.findall(r"'(\d+)[ ']", entry)] if entry else None)
    return found


def test_jobs_differing_only_in_packable_keys_become_one_job_per_network():
    grid = grid_of(["activation=tanh", "activation=relu"], ["lr=0.1", "lr=0.5"],
                   ["init=he", "init=xavier"], ["seed=0", "seed=1"])
    launched = packing.pack(grid, [composed(job) for job in grid])
    assert members_of(launched) == [list(range(8)), list(range(8, 16))]
    assert launched[1][:4] == grid[8]  # the first member's own lines, then the pack
    assert launched[1][4] == ("pack=['8 lr=0.1 init=he seed=0','9 lr=0.1 init=he seed=1',"
                              "'10 lr=0.1 init=xavier seed=0','11 lr=0.1 init=xavier seed=1',"
                              "'12 lr=0.5 init=he seed=0','13 lr=0.5 init=he seed=1',"
                              "'14 lr=0.5 init=xavier seed=0','15 lr=0.5 init=xavier seed=1']")
    assert launched[1][5] == "hydra.sweep.subdir=8"  # the folder job 8 had: results.yaml there


def test_what_a_stack_cannot_hold_stays_apart():
    # l2 = 0 beside l2 > 0 (a zero's sign), other widths (shapes), another optimizer (its group)
    grid = grid_of(["l2=0", "l2=0.01", "l2=0.1"], ["width=4", "width=8"])
    # (a job alone is a pack of one: it keeps its number in the grid)
    assert members_of(packing.pack(grid, [composed(j) for j in grid])) == [[0], [1], [2, 4],
                                                                          [3, 5]]
    grid = grid_of(["optimizer=sgd", "optimizer=adam"], ["lr=0.1", "lr=0.2"])
    assert members_of(packing.pack(grid, [composed(j) for j in grid])) == [[0, 1], [2, 3]]


def test_every_worker_gets_a_job_and_a_pack_fits_the_memory_a_job_may_use():
    grid = grid_of(["lr=0.1", "lr=0.2", "lr=0.3", "lr=0.4", "lr=0.5"])
    configs = [composed(j) for j in grid]
    assert members_of(packing.pack(grid, configs, workers=2)) == [[0, 1, 2], [3, 4]]
    assert packing.pack(grid, configs, workers=8) == grid  # one job each: the grid as it is
    # a job of these needs ~544 KB: 805 KB holds one, not two; 1.2 MB two, not three
    tight = grid_of(["lr=0.1", "lr=0.2", "lr=0.3"], ["memory_limit=0.00075"])
    assert packing.pack(tight, [composed(j) for j in tight]) == tight
    roomier = grid_of(["lr=0.1", "lr=0.2", "lr=0.3"], ["memory_limit=0.0011"])
    assert members_of(packing.pack(roomier, [composed(j) for j in roomier])) == [[0, 1], [2]]


def test_a_configuration_two_jobs_ask_for_is_not_packed_twice_and_gradcheck_is_not_packed():
    # seed=0,1,2 with seeds=2: seeds 0-1, 1-2, 2-3; the jobs that share a seed go apart
    grid = grid_of(["seed=0", "seed=1", "seed=2"], ["seeds=2"])
    hashes = [{0, 1}, {1, 2}, {2, 3}]  # (stand-ins for each job's config hashes)
    assert members_of(packing.pack(grid, [composed(j) for j in grid], hashes=hashes)) == [
        [0, 2], [1]]
    grid = grid_of(["lr=0.1", "lr=0.2"], ["gradcheck=true"])  # each job checks its own
    assert packing.pack(grid, [composed(j) for j in grid]) == grid


def test_a_typed_pack_is_checked_like_any_key():
    validate(composed(["pack=['0 lr=0.1','1 lr=0.2','2']"]))
    for bad in ("pack=['lr=0.1']", "pack=['0 width=4']", "pack=['x lr=0.1']"):
        with pytest.raises(ConfigError, match="pack=.*the grid sweeper sets it"):
            validate(composed([bad]))


# (relu's lr=1e4 diverges inside its stack, beside replicas that do not)
# (an init per member is checked bit for bit in tests/test_replicas.py; here lr alone varies)
SWEEP = ["activation=tanh,relu", "lr=0.1,1e4", "init=he", "seeds=2", "epochs=40",
         "dataset.n_samples=120", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


def results_of(sweep_dir):
    """{job folder: its results.yaml without the training time}."""
    found = {}
    for folder in sorted(p for p in sweep_dir.iterdir() if p.name.isdigit()):
        results = OmegaConf.to_container(OmegaConf.load(folder / "results.yaml"))
        for row in results["replicas"]:
            row.pop("train_time_s")
        found[folder.name] = results
    assert len(found) == 4
    return found


def counts(uri, experiment):
    """{config_hash: how many runs the experiment has of it}."""
    found = {}
    for run in runs_of(experiment, uri)[1]:
        found[run.data.tags["config_hash"]] = found.get(run.data.tags["config_hash"], 0) + 1
    return found


def runs_by_hash(uri, experiment):
    _, children = runs_of(experiment, uri)
    return {run.data.tags["config_hash"]: run for run in children}


def printed(stdout):
    """The job lines, without times and ETAs, sorted (joblib's workers interleave them)."""
    return sorted(re.sub(r"  \(\d+\.\d+ s\).*", "", line) for line in stdout.splitlines()
                  if line.startswith("#"))


@pytest.mark.slow
def test_a_packed_sweep_logs_the_runs_the_unpacked_one_does_bit_for_bit(tmp_path):
    uris = {name: f"sqlite:///{tmp_path / name}.db" for name in ("packed", "apart")}
    outs = {}
    for name, extra in (("packed", []), ("apart", ["hydra.sweeper.pack=false"])):
        code, outs[name], err = run_sweep([*SWEEP, f"mlflow.tracking_uri={uris[name]}",
                                           "mlflow.experiment=packing", f"hydra.sweep.dir={name}",
                                           *extra], tmp_path)
        assert code == 0, err
    assert "is launching 2 jobs" in outs["packed"] and "is launching 4 jobs" in outs["apart"]
    assert printed(outs["packed"]) == printed(outs["apart"])  # each member its own line
    # each member's results.yaml in the folder its own job had
    assert results_of(tmp_path / "packed") == results_of(tmp_path / "apart")
    packed, apart = (runs_by_hash(uris[n], "packing") for n in ("packed", "apart"))
    assert len(packed) == 8 and packed.keys() == apart.keys()
    for chash, run in packed.items():
        other = apart[chash]
        assert run.data.params == other.data.params
        assert run.data.metrics.keys() == other.data.metrics.keys()
        for key, value in run.data.metrics.items():
            if not key.endswith("_time_s"):  # (times: train_time_s, tracking_time_s)
                assert repr(value) == repr(other.data.metrics[key]), (chash, key)  # (NaN = NaN)
        assert run.info.run_name == other.info.run_name
        for tag in ("job_num", "seed", "group_hash"):
            assert run.data.tags[tag] == other.data.tags[tag], tag
        assert run.data.tags["overrides"].replace("packed.db", "") == \
            other.data.tags["overrides"].replace("apart.db", "")
    clients = {name: MlflowClient(uri) for name, uri in uris.items()}
    for chash in packed:  # the curves too
        for metric in ("val_loss", "train_loss", "grad_norm_1"):
            curves = [[(p.step, repr(p.value)) for p in clients[name].get_metric_history(
                runs[chash].info.run_id, metric)] for name, runs in (("packed", packed),
                                                                     ("apart", apart))]
            assert curves[0] == curves[1], (chash, metric)
    # the same command again: every member's FINISHED runs found, nothing trained but what
    # diverged (a diverged run is not FINISHED: its own job would train it again too)
    code, again, err = run_sweep([*SWEEP, f"mlflow.tracking_uri={uris['packed']}",
                                  "mlflow.experiment=packing"], tmp_path)
    assert code == 0, err
    lines = [line for line in again.splitlines() if line.startswith("#")]
    assert len(lines) == 4, again
    assert all(("2 skipped (finished before)" in line) != ("lr=10000.0" in line and "relu" in line)
               for line in lines), again
    assert len(runs_by_hash(uris["packed"], "packing")) == 8
    # +force=true: every member's every run trained again, each once
    before = counts(uris["packed"], "packing")
    code, forced, err = run_sweep([*SWEEP, f"mlflow.tracking_uri={uris['packed']}",
                                   "mlflow.experiment=packing", "+force=true"], tmp_path)
    assert code == 0, err
    assert "skipped" not in forced
    after = counts(uris["packed"], "packing")
    assert after.keys() == before.keys() and all(after[h] == before[h] + 1 for h in before)
