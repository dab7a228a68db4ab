"""`python -m src.run -m … seeds=auto[:N]` (issue 24, item 2): seeds are added round by round (5,
10, 20, … up to the cap) until every leader is separated from its runner-up, or the cap is reached,
and the last line says which; a wrong spelling fails in one line before anything runs.
"""

import re

import pytest

from netlab.hydra_glue import seeds_auto
from netlab.report.build import build
from tests.sweeps import run_sweep, runs_of
from tests.test_report import section


def test_seeds_auto_becomes_the_grid_sweepers_setting():
    assert seeds_auto.translate(["-m", "lr=0.1,1", "seeds=auto"]) == \
        ["-m", "lr=0.1,1", "hydra.sweeper.seeds_auto=40"]
    assert seeds_auto.translate(["--multirun", "seeds=auto:12"]) == \
        ["--multirun", "hydra.sweeper.seeds_auto=12"]
    assert seeds_auto.translate(["-m", "seeds=3"]) == ["-m", "seeds=3"]
    assert seeds_auto.translate(["-m", "+seeds=auto"]) == ["-m", "hydra.sweeper.seeds_auto=40"]
    assert seeds_auto.schedule(40) == [5, 10, 20, 40]
    assert seeds_auto.schedule(12) == [5, 10, 12]
    assert seeds_auto.schedule(3) == [3]


@pytest.mark.parametrize("argv, said", [
    (["seeds=auto"], "seeds=auto: adds seeds sweep by sweep, so it needs -m"),
    (["-m", "seeds=auto:1"], "seeds=auto:1: must be an integer ≥ 1, auto, or auto:N with N ≥ 2"),
    (["-m", "seeds=automatic"], "seeds=automatic: must be an integer ≥ 1, auto, or auto:N"),
    (["-m", "seeds=auto", "seeds=3"], "seeds=auto: decides how many seeds there are, so "
                                      "seeds=3 cannot be given beside it"),
])
def test_a_wrong_seeds_auto_is_refused_in_one_line(argv, said):
    with pytest.raises(SystemExit) as refused:
        seeds_auto.translate(argv)
    assert str(refused.value).startswith(f"config error: {said}")
    assert "\n" not in str(refused.value)


def verdicts(stderr):
    return [line for line in stderr.splitlines() if line.startswith("seeds=auto: ")]


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_seeds_are_added_until_the_leader_is_separated_or_the_cap_is_reached(tmp_path,
                                                                            tracking_uri):
    # lr=0.0001 learns nothing in 30 epochs, lr=1 learns the moons: separated well before the cap
    code, _, stderr = run_sweep(["-m", "lr=0.0001,1", "epochs=30", "seeds=auto",
                                 "mlflow.experiment=apart", "hydra.sweep.dir=a"], tmp_path)
    assert code == 0, stderr[-3000:]
    said = verdicts(stderr)
    assert said[-1].startswith("seeds=auto: the data separate every leader from its runner-up "
                               "(p < 0.0125: α = 0.05 split over the 4 looks seeds=auto may "
                               "take), over "), said
    assert said[-1].endswith(" shared seeds; no more seeds are needed")
    n = int(re.search(r"over (\d+) shared seeds", said[-1]).group(1))
    assert n < 40 and len(said) == seeds_auto.schedule(40).index(n) + 1, said
    assert all(line.endswith(f"next: {seeds_auto.schedule(40)[i + 1]} seeds")
               for i, line in enumerate(said[:-1]))
    _, children = runs_of("apart", tracking_uri)
    assert sorted(int(r.data.params["seed"]) for r in children) == sorted(list(range(n)) * 2)

    # 30 and 31 epochs at a small rate end alike on most seeds: never separated, up to the cap
    code, _, stderr = run_sweep(["-m", "epochs=30,31", "lr=0.01", "seeds=auto:10",
                                 "mlflow.experiment=close", "hydra.sweep.dir=c"], tmp_path)
    assert code == 0, stderr[-3000:]
    said = verdicts(stderr)
    assert len(said) == 2, stderr[-3000:]
    assert said[0].startswith("seeds=auto: at 5 seeds the data do not separate the leader "
                              "`epochs=")
    assert said[0].endswith(", 5 shared seeds) (p < 0.025: α = 0.05 split over the 2 looks "
                            "seeds=auto may take); next: 10 seeds")
    assert said[1].startswith("seeds=auto: the cap of 10 seeds is reached and the data do not "
                              "separate the leader `epochs=")
    _, children = runs_of("close", tracking_uri)
    assert sorted(int(r.data.params["seed"]) for r in children) == sorted(list(range(10)) * 2)
    # the verdict is the report's: the same runner-up and p-value in its conclusion
    path, _ = build("close", tracking_uri, out=tmp_path / "report", log=False)
    conclusion = section(path.read_text(), "Conclusion")
    p = re.search(r"\((p [=<] [0-9.]+), 10 shared seeds\)", said[1]).group(1)
    assert f"scipy.stats.ttest_rel: {p})" in conclusion
    assert "The data do not separate the two" in conclusion
