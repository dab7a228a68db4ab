"""Data or initialisation? (issue 24, item 3): a study that crosses data draws with seeds
(`data_seed=range(3) seeds=3`) is one configuration per setting, replicated by (draw, seed) pairs;
its report splits each configuration's variance into the data draw's part, the initialisation's
and the rest (statsmodels' crossed random effects, checked against the balanced two-way ANOVA's
expected mean squares), and reads the leader's lead draw by draw.
"""

import numpy as np
import pytest

from netlab.report import variance
from netlab.report.build import build
from netlab.report.study import load_study
from tests.sweeps import run_sweep, runs_of
from tests.test_report import section, table_rows


def anova_components(y):
    """(data, init, rest) variance components of a complete draws × inits table by the balanced
    ANOVA's expected mean squares, which REML gives too while every estimate is positive: two-way;
    where one factor's estimate is negative, that factor is dropped (its part 0) and the other's
    one-way ANOVA is used, as REML's estimate then sits on that edge."""
    draws, inits = y.shape
    grand = y.mean()
    ms_draw = inits * ((y.mean(1) - grand) ** 2).sum() / (draws - 1)
    ms_init = draws * ((y.mean(0) - grand) ** 2).sum() / (inits - 1)
    residual = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + grand
    ms_rest = (residual ** 2).sum() / ((draws - 1) * (inits - 1))
    data, init = (ms_draw - ms_rest) / inits, (ms_init - ms_rest) / draws
    if data >= 0 and init >= 0:
        return data, init, ms_rest
    if data < 0 and init < 0:
        return 0.0, 0.0, y.var(ddof=1)
    if init < 0:  # one-way by draw: the inits pooled with the rest
        within = ((y - y.mean(1, keepdims=True)) ** 2).sum() / (draws * (inits - 1))
        return max((ms_draw - within) / inits, 0.0), 0.0, within
    within = ((y - y.mean(0, keepdims=True)) ** 2).sum() / (inits * (draws - 1))
    return 0.0, max((ms_init - within) / draws, 0.0), within


@pytest.mark.parametrize("data_sd, init_sd", [(0.03, 0.01), (0.005, 0.02), (0.02, 0.02),
                                              (0.03, 0.0), (0.0, 0.02)])
def test_the_crossed_components_agree_with_the_two_way_anova(data_sd, init_sd):
    rng = np.random.default_rng(int(1000 * data_sd + 100 * init_sd))
    draws, inits = 5, 5
    y = (0.9 + rng.normal(0, data_sd, (draws, 1)) + rng.normal(0, init_sd, (1, inits))
         + rng.normal(0, 0.005, (draws, inits)))
    draw, init = np.meshgrid(range(draws), range(inits), indexing="ij")
    found = variance.components(draw.ravel(), init.ravel(), y.ravel())
    data, init_part, rest = anova_components(y)
    assert (found.n, found.draws, found.inits) == (25, 5, 5)
    assert found.data == pytest.approx(data, rel=1e-3, abs=1e-8)
    assert found.init == pytest.approx(init_part, rel=1e-3, abs=1e-8)
    assert found.rest == pytest.approx(rest, rel=1e-3, abs=1e-8)
    assert found.share("data") + found.share("init") + found.share("rest") == pytest.approx(1)


def test_too_few_draws_or_no_spread_are_said_not_made_up():
    assert variance.components([0, 0, 0, 0], [0, 1, 2, 3], [0.9, 0.8, 0.85, 0.9]) is None
    flat = variance.components([0, 0, 1, 1], [0, 1, 0, 1], [0.9] * 4)
    assert flat.total == 0 and np.isnan(flat.share("data"))


def test_the_lead_is_read_draw_by_draw():
    a = {(0, 0): 0.90, (0, 1): 0.92, (1, 0): 0.80, (1, 1): 0.84, (2, 0): 0.7, (3, 0): 0.5}
    b = {(0, 0): 0.88, (0, 1): 0.90, (1, 0): 0.83, (1, 1): 0.85, (2, 0): 0.7}
    found = variance.per_draw(a, b)
    assert found.means == pytest.approx({0: 0.02, 1: -0.02, 2: 0.0})
    assert (found.ahead, found.behind) == (1, 1)


@pytest.mark.slow
def test_a_crossed_study_is_reported_as_one_configuration_per_setting(tmp_path, tracking_uri):
    code, _, stderr = run_sweep(["-m", "activation=tanh,relu", "data_seed=range(3)", "seeds=3",
                                 "epochs=40", "mlflow.experiment=crossed",
                                 "hydra.sweep.dir=x"], tmp_path)
    assert code == 0, stderr[-3000:]
    _, children = runs_of("crossed", tracking_uri)
    assert len(children) == 18
    # each replica logs its own data_seed: void (null) only where it equals that replica's seed
    for run in children:
        params, job = run.data.params, run.data.tags["overrides"]
        given = int(job.split("data_seed=")[1].split()[0])
        equal = given == int(params["seed"])
        assert params["data_seed"] == ("null" if equal else str(given)), (job, params)
        assert ("normalised" in run.data.tags) == equal

    study = load_study(tracking_uri, "crossed")
    assert study.crossed and study.keys == ["activation"]
    path, _ = build("crossed", tracking_uri, out=tmp_path / "report", log=False)
    text = path.read_text()
    assert "- Data draws × initialisations: data_seed 0–2 crossed with seeds 0–2" in text
    header, rows = table_rows(text, "Configurations, aggregated over seeds")
    assert sorted(row[header.index("activation")] for row in rows) == ["relu", "tanh"]
    assert [row[header.index("n")] for row in rows] == ["9", "9"]
    header, rows = table_rows(text, "Data or initialisation?")
    runs = study.runs
    for row in rows:
        mine = runs[runs["activation"].eq(row[header.index("activation")])]
        parts = variance.components(mine["data_seed"], mine["seed"], mine["val_accuracy"])
        y = mine.pivot(index="data_seed", columns="seed", values="val_accuracy").to_numpy()
        assert (parts.data, parts.init, parts.rest) == pytest.approx(anova_components(y),
                                                                      rel=1e-3, abs=1e-8)
        assert row[header.index("runs")] == "9 (3 draws × 3 seeds)"
        for column, part in (("data draw", "data"), ("initialisation", "init"), ("rest", "rest")):
            assert row[header.index(column)] == f"{100 * parts.share(part):.0f} %"
    conclusion = section(text, "Conclusion")
    assert "paired t-test over the 9 (data draw, seed) pairs both ran" in conclusion
    assert "The pairs span 3 draws of the data, so the comparison speaks of datasets drawn " \
        "like this one" in conclusion


def test_one_fixed_draw_is_said_so_though_the_run_whose_seed_equals_it_logs_null(tmp_path,
                                                                                 empty_store):
    """`data_seed=2 seeds=4`: the seed-2 run logs data_seed as null ('equal to seed', as
    identity.normalise voids it), the others 2; every run still shares one draw of the data."""
    from netlab import identity
    from netlab.report.coverage import variation
    from tests.conftest import copy_store
    from tests.logged_runs import log_numbers, new_sweep
    from tests.test_report_scope import PARAMS

    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent = new_sweep(uri, "onedraw", params={"sweep.lr": "0.1,0.5"})
    for lr in (0.1, 0.5):
        for seed in range(4):
            params, notes = identity.normalise({**PARAMS, "lr": lr, "seed": seed,
                                                "data_seed": 2})
            val = 0.8 + lr / 10 + seed / 100
            log_numbers(uri, "onedraw", parent, params,
                        {"val_accuracy": val, "test_accuracy": val, "train_accuracy": val},
                        tags={"normalised": "data_seed: equal to seed"} if notes else None)
    client.set_terminated(parent)
    study = load_study(uri, "onedraw")
    assert study.runs["data_seed"].isna().sum() == 2 and not study.crossed
    assert variation(study.runs) == ("one draw of the data, data_seed=2; seeds vary the "
                                     "initialisation only")
    path, _ = build("onedraw", uri, out=tmp_path / "report", log=False)
    assert "Every run shares one draw of the data (data_seed=2)" in section(path.read_text(),
                                                                          "Conclusion")
