"""What a report says about runs with several seeds, checked against the numbers in real stores.

`helps`: runs logged with chosen numbers — l2 ∈ {0, 0.001, 0.1} × 12 seeds, one draw of the data
(data_seed=7) — and a study file naming the baseline l2=0: l2=0.1 is better on every seed by about
5 points and closes the train − validation gap, l2=0.001 differs by noise only.
`depths`: trained networks (sigmoid and relu at depth 1 and 4, and depth 0 once, normalised) that
log the per-layer dynamics; `rates`: trained ReLU networks at three learning rates.
"""

import math
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from mlflow import MlflowClient
from statsmodels.stats.multitest import multipletests

from netlab.paths import PROJECT_ROOT
from netlab.report import stats
from netlab.report.build import build, command_line
from netlab.report.histories import histories
from netlab.report.study import load_study
from tests.conftest import copy_store
from tests.logged_runs import log_numbers, new_sweep, train_and_log
from tests.test_report import assert_image_ok, section, table_rows

L2 = (0, 0.001, 0.1)
SEEDS = range(12)


def numbers(l2, seed):
    """The chosen final metrics of one run of `helps`."""
    rng = np.random.default_rng(seed)
    base, noise = 0.80 + 0.03 * rng.standard_normal(), rng.standard_normal(3)
    val = {0: base, 0.001: base + 0.004 * noise[0], 0.1: base + 0.05 + 0.004 * noise[1]}[l2]
    train = {0: 0.97, 0.001: 0.97, 0.1: 0.87}[l2] + 0.005 * noise[2]
    return {"val_accuracy": round(val, 4), "train_accuracy": round(train, 4),
            "test_accuracy": round(val - 0.01, 4), "epochs_run": 20, "train_time_s": 0.1}


@pytest.fixture(scope="module")
def helps(tmp_path_factory, empty_store):
    """The `helps` experiment, its study file and its report."""
    tmp = tmp_path_factory.mktemp("helps")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client, parent = new_sweep(uri, "helps")
    for l2 in L2:
        for seed in SEEDS:
            final = numbers(l2, seed)
            curve = {"val_accuracy": list(np.linspace(0.5, final["val_accuracy"], 5)),
                     "train_accuracy": list(np.linspace(0.5, final["train_accuracy"], 5)),
                     "val_loss": list(np.linspace(0.7, 0.3, 5)),
                     "train_loss": list(np.linspace(0.7, 0.2, 5))}
            log_numbers(uri, "helps", parent,
                        {"l2": l2, "seed": seed, "data_seed": 7, "activation": "tanh",
                         "width": 8, "depth": 1, "lr": 0.5, "epochs": 20,
                         "dataset.name": "moons", "dataset.n_samples": 200,
                         "dataset.val_size": 0.2}, final, curve=curve)
    client.set_terminated(parent)
    study_file = tmp / "helps.yaml"
    study_file.write_text("# Question: does L2 help, by how much, and does it close the gap?\n"
                          "baseline: {l2: 0}\n")
    path, study = build("helps", uri, out=tmp / "report", study_path=study_file)
    return uri, path, study


def by_l2(uri):
    """{l2: {seed: val_accuracy}} read back from the store."""
    found = {}
    for run in load_study(uri, "helps").runs.itertuples():
        found.setdefault(run.l2, {})[run.seed] = run.val_accuracy
    return found


@pytest.mark.slow
def test_the_leader_is_compared_with_the_runner_up_paired_and_holm_corrected(helps):
    uri, path, study = helps
    val = by_l2(uri)
    means = {l2: np.mean(list(v.values())) for l2, v in val.items()}
    leader, second, third = sorted(means, key=means.get, reverse=True)
    assert leader == 0.1
    seeds = sorted(val[leader])
    result = scipy.stats.ttest_rel([val[leader][s] for s in seeds], [val[second][s] for s in seeds])
    other = scipy.stats.ttest_rel([val[leader][s] for s in seeds], [val[third][s] for s in seeds])
    holm = multipletests([result.pvalue, other.pvalue], method="holm")[1]
    ci = result.confidence_interval(0.95)
    text = section(path.read_text(), "Conclusion")
    assert text.startswith("`l2=0.1` has the highest mean validation accuracy")
    assert f"runner-up `l2={second:g}`" in text
    assert "paired t-test over the 12 seeds both ran, scipy.stats.ttest_rel" in text
    diff = 100 * (means[leader] - means[second])
    assert f"the difference is {diff:+.1f} points" in text
    assert f"95 % CI {100 * ci.low:+.1f} to {100 * ci.high:+.1f} points" in text
    assert "Holm-corrected for the 2 comparisons" in text
    assert ("p < 0.001" if holm[0] < 0.001 else f"p = {holm[0]:.3f}") in text
    assert "The data separate the two" in text
    assert "3 configurations compete: after Holm's correction the leader is separated from 2 of" \
        in text


@pytest.mark.slow
def test_the_baseline_table_gives_each_paired_difference_and_the_gap(helps):
    uri, path, study = helps
    val = by_l2(uri)
    text = path.read_text()
    assert "**Question.** Does L2 help, by how much, and does it close the gap?" in text
    header, rows = table_rows(text, "Against the baseline `l2=0`")
    assert [row[header.index("l2")] for row in rows] == ["0.1", "0.001"]
    ps = []
    for row in rows:
        l2 = float(row[header.index("l2")])
        seeds = sorted(val[l2])
        result = scipy.stats.ttest_rel([val[l2][s] for s in seeds], [val[0][s] for s in seeds])
        ci = result.confidence_interval(0.95)
        d = np.mean([val[l2][s] - val[0][s] for s in seeds])
        assert row[header.index("Δ val vs baseline (95 % CI)")] == \
            f"{d:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}]"
        assert row[header.index("shared seeds")] == "12"
        ps.append(result.pvalue)
    holm = multipletests(ps, method="holm")[1]
    for row, p in zip(rows, holm, strict=True):
        assert row[header.index("p (Holm)")] == ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
    gap = dict((row[header.index("l2")], row[header.index("train − val gap")]) for row in rows)
    assert float(gap["0.1"].split(" [")[0]) < float(rows[0][header.index("gap at baseline")])
    conclusion = section(text, "Conclusion")
    better = conclusion.split("better:", 1)[1].split("not separated", 1)[0]
    assert "`l2=0.1`" in better and "`l2=0.001`" not in better
    assert "`l2=0.001`" in conclusion.split("not separated from the baseline:", 1)[1]


@pytest.mark.slow
def test_the_robust_table_gives_iqm_improvement_and_signed_rank_from_scipy(helps):
    uri, path, study = helps
    val = by_l2(uri)
    header, rows = table_rows(path.read_text(), "Robust summaries")
    assert [row[header.index("l2")] for row in rows][0] == "0.1"
    for row in rows:
        l2 = float(row[header.index("l2")])
        x = np.array([val[l2][s] for s in sorted(val[l2])])
        assert row[header.index("IQM val [95 %]")].startswith(
            f"{scipy.stats.trim_mean(x, 0.25):.3f} [")
        assert row[header.index("median")] == f"{np.median(x):.3f}"
    cells = {row[header.index("l2")]: row for row in rows}
    # l2=0.1 beats l2=0 on all 12 seeds: P = 1, its exact interval from (α/2)^(1/12)
    assert cells["0"][header.index("P(leader better) [95 %]")] == \
        f"1.00 [{0.025 ** (1 / 12):.2f}, 1.00] (exact)"
    seeds = sorted(val[0.1])
    ps = [scipy.stats.wilcoxon([val[0.1][s] for s in seeds], [val[other][s] for s in seeds],
                               method="exact").pvalue for other in (0.001, 0)]
    holm = multipletests(ps, method="holm")[1]
    for other, p in zip(("0.001", "0"), holm, strict=True):
        assert cells[other][header.index("signed-rank p (Holm)")] == \
            ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


@pytest.mark.slow
def test_the_conclusion_says_what_the_seeds_can_detect_and_how_many_a_point_needs(helps):
    from statsmodels.stats.power import TTestPower

    uri, path, study = helps
    val = by_l2(uri)
    means = {l2: np.mean(list(v.values())) for l2, v in val.items()}
    leader, second = sorted(means, key=means.get, reverse=True)[:2]
    d = np.array([val[leader][s] - val[second][s] for s in sorted(val[leader])])
    sd = np.std(d, ddof=1)
    smallest = sd * TTestPower().solve_power(nobs=12, alpha=0.05, power=0.8)
    needed = math.ceil(TTestPower().solve_power(effect_size=0.01 / sd, alpha=0.05, power=0.8))
    text = section(path.read_text(), "Conclusion")
    assert (f"standard deviation of {100 * sd:.1f} points: a paired comparison of this size "
            f"detects a true difference of {100 * smallest:.1f} points or more with 80 % power"
            in text)
    assert ("its 12 seeds already suffice for 1 point" in text if needed <= 12 else
            f"detecting 1 point would take {needed} seeds" in text)
    assert "Seed by seed the leader is better with probability 1.00" in text


@pytest.mark.slow
def test_numbers_are_written_as_what_they_are(helps):
    uri, path, study = helps
    text = path.read_text()
    header, rows = table_rows(text, "Configurations, aggregated over seeds")
    assert [row[header.index("n")] for row in rows] == ["12"] * 3
    assert {row[header.index("l2")] for row in rows} == {"0", "0.001", "0.1"}
    assert "n = 12)" in text and "12 seeds per configuration" in text
    assert not re.search(r"n = \d+\.\d", text) and "12.0" not in text


@pytest.mark.slow
def test_where_the_variation_comes_from_is_said(helps):
    text = helps[1].read_text()
    assert "one draw of the data, data_seed=7; seeds vary the initialisation only" in text


@pytest.mark.slow
def test_a_key_whose_values_include_0_gets_a_symlog_axis(helps):
    text = helps[1].read_text()
    assert "](accuracy_vs_l2.png)" in text
    caption = text.split("](accuracy_vs_l2.png)", 1)[1].split("\n\n")[1]
    assert "symlog axis" in caption and "95 % confidence band" in caption


@pytest.mark.slow
def test_every_run_is_listed_last_and_folded(helps):
    text = helps[1].read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[-1] == "Every run"
    every = section(text, "Every run")
    assert "<details><summary>36 runs" in every
    assert len([line for line in every.splitlines() if line.startswith("| ")]) == 37


def test_interval_paired_and_holm_agree_with_scipy_and_statsmodels():
    values = [0.8, 0.85, 0.9, 0.82]
    summary = stats.interval(values)
    low, high = scipy.stats.t.interval(0.95, 3, loc=np.mean(values), scale=scipy.stats.sem(values))
    assert (summary.n, summary.mean, summary.low, summary.high) == (4, np.mean(values), low, high)
    assert summary.std == pytest.approx(np.std(values, ddof=1))
    one = stats.interval([0.7])
    assert one.n == 1 and np.isnan(one.half)
    same = stats.interval([0.5, 0.5, 0.5])
    assert (same.low, same.high) == (0.5, 0.5)
    a, b = {0: 0.9, 1: 0.8, 2: 0.85, 5: 0.7}, {0: 0.8, 1: 0.8, 2: 0.8, 3: 0.1}
    compared = stats.paired(a, b)
    result = scipy.stats.ttest_rel([0.9, 0.8, 0.85], [0.8, 0.8, 0.8])
    assert compared.n == 3 and compared.test == "paired t-test"
    assert compared.p == pytest.approx(result.pvalue)
    assert compared.low == pytest.approx(result.confidence_interval().low)
    constant = stats.paired({0: 0.9, 1: 0.9, 2: 0.9}, {0: 0.8, 1: 0.8, 2: 0.8})
    assert constant.test == "sign test" and constant.p == pytest.approx(0.25)
    assert stats.paired({0: 0.9}, {0: 0.8}).test == ""
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(stats.holm([np.nan, 0.02])[0]) and stats.holm([np.nan, 0.02])[1] == 0.02


# ------------------------------------------------------------------ the dynamics, recorded
@pytest.fixture(scope="module")
def depths(tmp_path_factory, empty_store):
    """Trained runs logging per-layer dynamics: sigmoid, relu × depth 1, 4, and depth 0 once."""
    tmp = tmp_path_factory.mktemp("depths")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client, parent = new_sweep(uri, "depths")
    common = ["dataset=moons", "dataset.n_samples=120", "epochs=80", "width=6", "lr=0.5"]
    for seed in range(3):
        for activation in ("sigmoid", "relu"):
            for depth in (1, 4):
                train_and_log(uri, "depths", parent, [*common, f"activation={activation}",
                                                      f"depth={depth}", f"seed={seed}"])
        train_and_log(uri, "depths", parent, [*common, "depth=0", f"seed={seed}"])
    client.set_terminated(parent)
    path, study = build("depths", uri, out=tmp / "report")
    return uri, path, study


@pytest.mark.slow
def test_a_normalised_configuration_is_shown_once(depths):
    uri, path, study = depths
    text = path.read_text()
    header, rows = table_rows(text, "Configurations, aggregated over seeds")
    at_zero = [row for row in rows if row[header.index("depth")] == "0"]
    assert len(rows) == 5 and len(at_zero) == 1
    assert at_zero[0][header.index("activation")] == "—" and at_zero[0][header.index("n")] == "3"
    assert "- Normalised: in 3 runs `width`, `activation` cannot matter (width, activation: " \
        "no hidden layer at depth 0)" in text


@pytest.mark.slow
def test_gradient_norms_and_the_depth_verdict_come_from_the_recorded_dynamics(depths):
    uri, path, study = depths
    out = path.parent
    text = path.read_text()
    for name in ("gradient_norms.png", "first_layer_gradient.png"):
        assert f"]({name})" in text
        assert_image_ok(out / name)
    client = MlflowClient(uri)
    final = {}  # the first layer's gradient norm at the end of training, from the store
    for run in study.runs[study.runs["depth"].ge(1)].itertuples():
        history = client.get_metric_history(run.run_id, "grad_norm_1")
        last = max(history, key=lambda m: m.step).value
        final.setdefault((run.activation, run.depth), []).append(last)
    geometric = {k: 10 ** np.mean(np.log10(v)) for k, v in final.items()}
    assert geometric[("sigmoid", 4)] < geometric[("relu", 4)]  # sigmoid's gradient vanishes
    verdict = text.split("**Depth and gradients.**", 1)[1].split("\n\n")[0]
    for activation in ("sigmoid", "relu"):
        said = verdict.split(f"`{activation}`", 1)[1].split("`", 1)[0]
        assert f"{geometric[(activation, 1)]:.1e}" in said
        assert f"{geometric[(activation, 4)]:.1e}" in said


@pytest.mark.slow
def test_dead_units_against_lr(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent = new_sweep(uri, "rates")
    for lr in (0.01, 1, 50):
        for seed in range(2):
            train_and_log(uri, "rates", parent, ["dataset=moons", "dataset.n_samples=120",
                                                 "epochs=60", "activation=relu", f"lr={lr}",
                                                 f"seed={seed}"])
    client.set_terminated(parent)
    path, study = build("rates", uri, out=tmp_path / "report", log=False)
    text = path.read_text()
    assert "](unit_share_vs_lr.png)" in text and "dead (ReLU" in text
    assert_image_ok(path.parent / "unit_share_vs_lr.png")
    caption = text.split("](accuracy_vs_lr.png)", 1)[1].split("\n\n")[1]
    assert "log axis" in caption


@pytest.mark.slow
def test_a_baseline_can_be_named_on_the_command_line(helps, tmp_path):
    uri, _, _ = helps
    out = tmp_path / "cli"
    command = ["python", "-m", "src.report", "helps", "--tracking-uri", uri, "--out", str(out),
               "--no-log", "--baseline", "l2=0"]
    done = subprocess.run([sys.executable, *command[1:]], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    text = (out / "report.md").read_text()
    assert "### Against the baseline `l2=0`" in text and f"`{' '.join(command)}`" in text
    wrong = subprocess.run([sys.executable, *command[1:-1], "l2"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 1
    assert wrong.stderr == "report: --baseline wants KEY=VALUE, got 'l2'\n"


@pytest.mark.slow
def test_the_difference_to_size_seeds_for_is_named_on_the_command_line(helps, tmp_path):
    from statsmodels.stats.power import TTestPower

    uri, _, _ = helps
    val = by_l2(uri)
    means = {l2: np.mean(list(v.values())) for l2, v in val.items()}
    leader, second = sorted(means, key=means.get, reverse=True)[:2]
    sd = np.std([val[leader][s] - val[second][s] for s in sorted(val[leader])], ddof=1)
    effect = round(sd / 4, 4)  # a quarter of the spread: more seeds than the study ran
    needed = math.ceil(TTestPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8))
    assert needed > 12
    command = ["python", "-m", "src.report", "helps", "--tracking-uri", uri,
               "--out", str(tmp_path / "cli"), "--no-log", "--effect", str(effect)]
    done = subprocess.run([sys.executable, *command[1:]], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    text = (tmp_path / "cli" / "report.md").read_text()
    assert f"detecting {100 * effect:g} points would take {needed} seeds" in text
    assert f"`{' '.join(command)}`" in text
    assert command_line("helps", effect=effect).endswith(f"--effect {effect}")
    assert "--effect" not in command_line("helps")
    wrong = subprocess.run([sys.executable, *command[1:-1], "1.5"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert (wrong.returncode, wrong.stderr) == (1, "report: --effect must be a difference in "
                                                "accuracy between 0 and 1 (0.01 is one point), "
                                                "got 1.5\n")


@pytest.mark.slow
def test_histories_are_each_runs_metric_histories_by_step(depths):
    uri, _, study = depths
    client = MlflowClient(uri)
    ids = study.runs["run_id"].tolist()[:5]
    names = ["val_accuracy", "grad_norm_1", "train_loss"]
    fast = histories(client, ids, names)
    assert len(fast) == 5 and all(len(f) > 10 for f in fast)
    for run_id, frame in zip(ids, fast, strict=True):  # in order, each its own run's
        assert list(frame.columns) == ["step", *names]
        assert frame["step"].is_monotonic_increasing and frame["step"].is_unique
        for name in names:
            logged = {m.step: m.value for m in client.get_metric_history(run_id, name)}
            present = frame.dropna(subset=[name])
            assert dict(zip(present["step"], present[name], strict=True)) == logged, name
        assert set(frame["step"]) == {m.step for name in names
                                      for m in client.get_metric_history(run_id, name)}
    first = client.get_metric_history(ids[0], "grad_norm_1")  # at every other curve epoch
    probed = fast[0].dropna(subset=["grad_norm_1"])
    assert dict(zip(probed["step"], probed["grad_norm_1"], strict=True)) == \
        {m.step: m.value for m in first}
    assert len(first) < len(fast[0]) and fast[0]["val_accuracy"].notna().all()
