"""`python -m src.run -m … seeds=auto` (or `seeds=auto:N`): as many seeds as the question needs.

The grid is swept with 5 seeds, then 10, 20, … up to a cap (40, or N), until on every dataset the
leader is separated from the runner-up by the report's test (the paired t-test over shared seeds,
Holm-corrected for the K − 1 comparisons) at α = 0.05 divided by the number of looks the schedule
may take (Bonferroni: testing after every round at 0.05 would find a difference where there is
none in about 15 % of studies, not 5 %), or the cap is reached. Each round is a sweep of
its own (its parent run and summary, as if the command had been typed with `seeds=5`, then
`seeds=10`, …) and trains only the seeds the runs before it lack. The last line says which
happened; the report reads every round's runs, as it reads an extended sweep's.

Hydra's config types `seeds` as an integer, so the command line's `seeds=auto` reaches the grid
sweeper as its own setting, `hydra.sweeper.seeds_auto=N` (translate(), before Hydra parses).
"""

import re
import sys

from netlab.config import ConfigError, reject

SPELLING = re.compile(r"seeds=auto(?::(\d+))?")
FIRST = 5  # seeds of the first round
CAP = 40  # the most seeds `seeds=auto` reaches
SETTING = "hydra.sweeper.seeds_auto"
MULTIRUN = ("-m", "--multirun")


def translate(argv):
    """The command line's words with `seeds=auto[:N]` turned into the grid sweeper's setting
    (SETTING=N); a wrong spelling, a single run, or seeds given twice exit in one line."""
    autos = [word for word in argv if word.lstrip("+").startswith("seeds=auto")]
    if not autos:
        return list(argv)
    value = autos[-1].partition("=")[2]
    spelled = SPELLING.fullmatch(autos[-1].lstrip("+"))
    if not spelled or (spelled.group(1) and int(spelled.group(1)) < 2):
        reject(ConfigError("seeds", value, "must be an integer ≥ 1, auto, or auto:N with N ≥ 2 "
                                            "(the most seeds auto may reach)"))
    if not any(word in MULTIRUN for word in argv):
        reject(ConfigError("seeds", value, "adds seeds sweep by sweep, so it needs -m "
                                            "(python -m src.run -m … seeds=auto)"))
    others = [word for word in argv if word.lstrip("+").startswith("seeds=")
              and word not in autos]
    if others:
        reject(ConfigError("seeds", value, f"decides how many seeds there are, so "
                                            f"{others[0]} cannot be given beside it"))
    cap = int(spelled.group(1) or CAP)
    return [word for word in argv if word not in autos] + [f"{SETTING}={cap}"]


def schedule(cap):
    """The seeds of each round: 5, 10, 20, … doubling, the cap last (a cap below 5: itself)."""
    found = [min(FIRST, cap)]
    while found[-1] < cap:
        found.append(min(2 * found[-1], cap))
    return found


def rounds(grid_sweep, arguments, cap, config):
    """Run grid_sweep(arguments + [seeds=n]) for each n of schedule(cap) until every dataset's
    leader is separated from its runner-up; print after each round what the data say. Returns
    every round's launcher results."""
    from netlab.report.stats import ALPHA
    from netlab.tracking.store import resolve_uri

    from .sweep import experiment_of

    uri, experiment = resolve_uri(config.mlflow.tracking_uri), experiment_of(config)
    rounds_ = schedule(cap)
    alpha = ALPHA / len(rounds_)
    level = (f"p < {alpha:.4g}: α = {ALPHA:g} split over the {len(rounds_)} looks "
             f"seeds=auto may take" if len(rounds_) > 1 else f"p < {ALPHA:g}")
    returns = []
    for i, n in enumerate(rounds_):
        returns += grid_sweep([*arguments, f"seeds={n}"])
        leads = compared(uri, experiment)
        if not leads:
            say(f"no dataset has two configurations with finished runs to compare; stopped at "
                f"{n} seeds")
            break
        open_leads = [lead for lead in leads if not lead.p < alpha]
        if not open_leads:
            say(f"the data separate every leader from its runner-up ({level}), over "
                f"{seeds_compared(leads)}; no more seeds are needed")
            break
        if n >= cap:
            say(f"the cap of {cap} seeds is reached and the data do not separate "
                f"{describe(open_leads)} ({level}); more seeds (seeds=auto:N), or a smaller "
                "question, would be needed")
            break
        say(f"at {n} seeds the data do not separate {describe(open_leads)} ({level}); next: "
            f"{rounds_[i + 1]} seeds")
    return returns


def compared(uri, experiment):
    """[Lead] of the scopes with a runner-up to compare the leader with (as the report reads the
    study: the runs of the experiment's comparable sweeps)."""
    from netlab.report import comparisons, stats
    from netlab.report.study import load_study

    try:
        study = load_study(uri, experiment)
    except LookupError:  # no run to read
        return []
    agg = stats.aggregate(study.runs, study.keys)
    return [lead for lead in comparisons.leads(study.runs, study.keys, agg)
            if lead.runner is not None]


def seeds_compared(leads):
    """'10 shared seeds' (or 'from 8 to 10 shared seeds'): what the comparisons rest on."""
    shared = sorted({lead.runner.paired.n for lead in leads})
    return (f"{shared[0]} shared seeds" if len(shared) == 1
            else f"{shared[0]} to {shared[-1]} shared seeds")


def describe(leads):
    """'on `moons` the leader `activation=relu` from `activation=tanh` (p = 0.210 over 10 shared
    seeds)'; …"""
    from netlab.report.text import overrides, p_value

    parts = []
    for lead in leads:
        where = f"on `{lead.scope}` " if lead.scope is not None else ""
        parts.append(f"{where}the leader `{overrides(lead.best, lead.inner)}` from "
                     f"`{overrides(lead.runner.other, lead.inner)}` ({p_value(lead.p)}"
                     f"{', Holm' if lead.k > 2 else ''}, {lead.runner.paired.n} shared seeds)")
    return "; ".join(parts)


def say(text):
    """One line of the command's own, on stderr beside the sweeps' summaries."""
    print(f"seeds=auto: {text}", file=sys.stderr, flush=True)
