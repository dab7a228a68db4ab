"""The closing paragraph: which configuration leads, whether the data separate it from the
runner-up (paired over shared seeds, Holm-corrected when K configurations compete), what the
baseline comparison says, and what the numbers cannot tell. It never names a winner the numbers
cannot support: with one seed it says that a single seed cannot separate them. Every count in
it is the n the configurations have: a mean of several seeds comes with its interval, a single
seed's value says it has none.
"""

import math

from netlab.figures.style import label

from . import comparisons, power, robust, variance
from .coverage import mixed as coverage_mixed
from .stats import ALPHA
from .study import DATASET, SEED, drawn_by, n_val_points, set_data_seed
from .text import count, overrides, p_value, pct, pct_range, points, points_range, sentence

CROSSED_UNIT = "(data draw, seed) pair"  # what pairs two runs when a study crosses them


def conclusion(study, agg, compared=None, baseline=None, depth=None, mixed=None,
               robust_scopes=None, effect=power.DEFAULT_EFFECT):
    """The closing paragraphs (markdown); depth: the depth-and-gradients verdict, if any;
    mixed: what the runs mix (coverage.mixed(); computed here when not given); robust_scopes:
    comparisons.robust_scopes(), for the signed-rank test against the runner-up; effect: the
    difference (accuracy, e.g. 0.01) to size the seeds for."""
    runs, parts = study.runs, []
    for name, rows, inner in comparisons.scopes(agg, study.keys):
        where = f"On `{name}`, " if name is not None else ""
        robust_rows = (robust_scopes or {}).get(name)
        parts.append(sentence(" ".join(leader(study, rows, inner, where, robust_rows, effect))))
    if baseline:
        parts.append(against_baseline(study, compared, baseline))
    if depth:
        parts.append(depth)
    closing = []
    mixed = coverage_mixed(runs) if mixed is None else mixed
    if mixed:
        closing.append(f"These runs mix {' and '.join(mixed)} (see the warnings at the top); part "
                       "of any difference may come from that, not the swept keys.")
    bad = runs[runs["state"].ne("finished")]
    if len(bad):
        listed = "; ".join(f"`{overrides(r, study.keys)}`"
                           + (f" seed {label(r[SEED])}" if SEED in runs else "")
                           + f": {r['status_text']}" for _, r in bad.head(12).iterrows())
        more = f"; and {len(bad) - 12} more (see the table)" if len(bad) > 12 else ""
        closing.append(f"{len(bad)} of {count(len(runs), 'run')} did not finish ({listed}{more}); "
                       "they are left out of the comparison above.")
    if closing:
        parts.append(" ".join(closing))
    return "\n\n".join(parts)


def leader(study, rows, inner, where, robust_rows=None, effect=power.DEFAULT_EFFECT):
    """Sentences on the best configuration of one scope and how far the data separate it."""
    done = rows[rows["n"] > 0]
    if done.empty:
        return [f"{where}no configuration finished a run, so there is no result to compare."]
    best = done.iloc[0]
    name = f"`{overrides(best, inner)}`" if inner else "the single configuration"
    if study.seeded:
        head = (f"{where}{name} has the highest mean validation accuracy, {pct(best['val_mean'])}"
                f" ({spread(best)}); test {pct(best['test_mean'])}")
    else:
        head = (f"{where}{name} has the highest validation accuracy, {pct(best['val_mean'])} "
                f"(test {pct(best['test_mean'])})")
    if len(done) == 1:
        reached = head.replace(" has the highest mean validation accuracy, ", " reaches a mean "
                               "validation accuracy of ").replace(
            " has the highest validation accuracy, ", " reaches a validation accuracy of ")
        return [reached + ("." if len(rows) == 1 else
                           "; it is the only configuration with a finished run.")]
    found = comparisons.best_against_rest(study.runs, study.keys, rows)
    runner = found[0]
    second = runner.other
    other = f"`{overrides(second, inner)}`"
    text = [head + "."]
    c = runner.paired
    k = len(done)
    if best["val_mean"] == second["val_mean"]:
        text.append(f"It ties with {other} on mean validation accuracy.")
    if c.n == 0:
        text.append(f"The runner-up {other} ({pct(second['val_mean'])}, {spread(second)}) shares "
                    "no seed with it, so "
                    "the two cannot be compared seed by seed.")
    elif c.n == 1 and best["n"] == second["n"] == 1:
        margin = best["val_mean"] - second["val_mean"]
        sizes = n_val_points(study.runs)
        n_val = sizes.get(best.get(DATASET)) if DATASET in best else next(iter(sizes.values()),
                                                                          None)
        detail = f", {round(margin * n_val)} of {n_val} validation points" if n_val else ""
        text.append(f"It is {points(margin, signed=False)} ahead of the runner-up {other} "
                    f"({pct(second['val_mean'])}){detail}, from a single seed each: a single "
                    "seed cannot separate them; another seed may well reverse the order.")
    elif c.n == 1:  # one side has several seeds, but the two share only one
        margin = best["val_mean"] - second["val_mean"]
        text.append(f"It is {points(margin, signed=False)} ahead of the runner-up {other} "
                    f"({pct(second['val_mean'])}, {spread(second)}), but the two share only one "
                    "seed: too few for a paired comparison, so the data cannot separate them; "
                    "more seeds of the one with fewer would.")
    else:
        unit = CROSSED_UNIT if study.crossed else "seed"
        text.append(runner_up(runner, other, k, unit))
        text.append(how_sure(runner, robust_rows, effect, unit))
        text.extend(filter(None, [which_data(study, runner)]))
    if c.n >= 2 and k > 2:
        text.append(front_runners(found, inner, k))
    best_test = done.loc[done["test_mean"].idxmax()]
    if best_test["test_mean"] > best["test_mean"]:
        text.append(f"On the test set `{overrides(best_test, inner)}` scored higher "
                    f"({pct(best_test['test_mean'])}); configurations are ranked on validation "
                    "accuracy, and the test figure is reported, not used to choose.")
    worst = done.iloc[-1]
    if k > 2 and worst["val_mean"] < best["val_mean"]:
        text.append(f"The weakest finished configuration{' there' if where else ''} was "
                    f"`{overrides(worst, inner)}` at {pct(worst['val_mean'])}.")
    return text


def spread(row):
    """How many seeds a configuration's mean rests on, and its interval when it has one:
    '95 % CI 89.4 % to 92.6 %, n = 3' or 'n = 1: one seed, no interval'."""
    if row["n"] >= 2:
        return f"95 % CI {pct_range(row['val_low'], row['val_high'])}, n = {row['n']}"
    return "n = 1: one seed, no interval"


def runner_up(comparison, other, k, unit="seed"):
    """The paired comparison of the best configuration with the runner-up, in words (unit: what
    pairs two runs, a seed or a (data draw, seed) pair)."""
    c = comparison.paired
    seeds = count(c.n, unit)
    if c.test == "identical on every seed":
        return (f"Against the runner-up {other}, paired over the {seeds} both ran: the two score "
                "the same on every seed, so the data do not separate them.")
    if c.test == "sign test":
        diff = (f"the difference is {points(c.mean)} on every one of the {seeds} both ran "
                f"(sign test, scipy.stats.binomtest: {p_value(c.p)}")
    else:
        diff = (f"the difference is {points(c.mean)} (95 % CI {points_range(c.low, c.high)}; "
                f"paired t-test over the {seeds} both ran, "
                f"scipy.stats.ttest_rel: {p_value(c.p)}")
    p = c.p
    if k > 2:
        diff += (f"; Holm-corrected for the {k - 1} comparisons of the leader with each other "
                 f"configuration, {p_value(comparison.p_holm)}")
        p = comparison.p_holm
    diff += ")"
    verdict = ("The data separate the two: the leader is better than the runner-up."
               if p < ALPHA else
               "The data do not separate the two: either could be the better one.")
    return f"Against the runner-up {other} ({pct(comparison.other['val_mean'])}), {diff}. {verdict}"


def how_sure(comparison, robust_rows, effect, unit="seed"):
    """The runner-up comparison without trusting the mean (how often the leader wins a seed, the
    signed-rank test), and what its seeds can detect (power.sensitivity)."""
    mine, theirs = comparison.scores
    beaten = robust.improvement(mine, theirs)
    text = (f"{'Pair by pair' if unit != 'seed' else 'Seed by seed'} the leader is better with "
            f"probability {beaten.value:.2f}")
    if math.isfinite(beaten.low) and beaten.low != beaten.high:
        text += f" (95 % interval {beaten.low:.2f} to {beaten.high:.2f}, {beaten.method})"
    signed = None
    if robust_rows is not None and len(robust_rows) > 1:
        row = robust_rows.iloc[1]
        signed, signed_p = row["signed"], row["signed_holm"]
    if signed is not None and signed.n and not signed.can_reach:
        text += (f"; only {count(signed.n, unit)} {'differs' if signed.n == 1 else 'differ'}, "
                 "too few for the signed-rank test to "
                 "reach p < 0.05 whatever they show")
    elif signed is not None and signed.n:
        t_p = comparison.p_holm if math.isfinite(comparison.p_holm) else comparison.paired.p
        agrees = (signed_p < ALPHA) == (t_p < ALPHA)
        text += (f"; the signed-rank test, which assumes nothing of the differences' shape, "
                 f"{'agrees' if agrees else 'disagrees'} ({p_value(signed_p)}"
                 f"{', Holm-corrected' if len(robust_rows) > 2 else ''})")
    text += ". " + seeds_sentence(power.sensitivity(mine, theirs, effect), unit)
    return text


def which_data(study, comparison):
    """What the comparison speaks of: datasets drawn like this one (the study crosses data draws
    with seeds: how the leader fares draw by draw), or this one draw of the data (data_seed
    fixed), or each seed's own draw (said in the header; nothing to add)."""
    if study.crossed:
        found = variance.per_draw(*comparison.scores)
        n = len(found.means)
        if n < 2:
            return ""
        low, high = min(found.means.values()), max(found.means.values())
        return (f"The pairs span {n} draws of the data, so the comparison speaks of datasets "
                f"drawn like this one, not of one dataset: draw by draw (the mean over its "
                f"seeds) the leader is ahead on {found.ahead} of the {n} and behind on "
                f"{found.behind}, by {points_range(low, high)}. Pairs that share a draw are not "
                "independent, so the tests above, which treat every pair as one, overstate the "
                "precision where the data draw's share of the variance is large; the draw-by-draw "
                "count is the cautious reading.")
    runs = study.runs
    given = set_data_seed(runs)
    drawn = drawn_by(runs).unique() if given.all() and SEED in runs else []
    if len(drawn) == 1:
        return (f"Every run shares one draw of the data (data_seed={label(drawn[0])}): the "
                "comparison holds for this dataset; another draw may order them differently "
                "(cross data draws with seeds, e.g. `data_seed=range(5) seeds=5`, to ask).")
    return ""


def seeds_sentence(s, unit="seed"):
    """What a paired comparison's seeds can detect, and how many seeds `effect` would take."""
    if not math.isfinite(s.detectable):
        return ("The difference is the same on every seed, so there is no spread to size a study "
                "from.")
    text = (f"Over these {count(s.n, unit)} the per-{unit.split(' ')[-1]} differences have a "
            f"standard deviation of {points(s.sd, signed=False)}: a paired comparison of this "
            f"size detects a true difference of {points(s.detectable, signed=False)} or more with "
            f"{100 * power.POWER:.0f} % power (α = {ALPHA:g}, two-sided, before any correction)")
    named = f"{100 * s.effect:g} point" + ("" if 100 * s.effect == 1 else "s")
    if s.needed == math.inf:
        return text + (f"; detecting {named} would take more than {power.MAX_SEEDS:,} "
                       f"{unit}s.")
    if s.needed <= s.n:
        return text + f"; its {count(s.n, unit)} already suffice for {named}."
    return text + f"; detecting {named} would take {count(s.needed, unit)}."


def front_runners(found, inner, k):
    """How many of the other K − 1 configurations the leader is separated from, after Holm."""
    tested = [c for c in found if c.paired.n >= 2 and math.isfinite(c.p_holm)]
    apart = [c for c in tested if c.p_holm < ALPHA]
    close = [c for c in tested if c.p_holm >= ALPHA]
    text = (f"{k} configurations compete: after Holm's correction the leader is separated from "
            f"{len(apart)} of the {k - 1} others")
    if close:
        names = ", ".join(f"`{overrides(c.other, inner)}`" for c in close[:6])
        more = f" and {len(close) - 6} more" if len(close) > 6 else ""
        text += f"; not from {names}{more}, which the data cannot rank below it"
    untested = len(found) - len(tested)
    if untested:
        text += f" ({count(untested, 'configuration')} shared fewer than two seeds with it)"
    return text + "."


def against_baseline(study, compared, baseline):
    """Sentences answering "does it help?": each configuration against the baseline."""
    described = " ".join(f"{k}={label(v)}" for k, v in baseline.items())
    table, problem = compared if compared is not None else (None, "no comparison was made")
    if table is None:
        return f"The study names the baseline `{described}`, but {problem}."
    inner = [k for k in study.keys]
    helps, hurts, unclear = [], [], []
    for _, row in table.iterrows():
        what = (f"`{overrides(row, inner)}` ({points(row['diff_mean'])}"
                + (f", 95 % CI {points_range(row['diff_low'], row['diff_high'])}, Holm "
                   f"{p_value(row['p_holm'])}" if row["diff_n"] >= 2
                   else ", one shared seed, no interval" if row["diff_n"] == 1
                   else ", no shared seed")
                + gap(row) + ")")
        if row["diff_n"] >= 2 and row["p_holm"] < ALPHA:
            (helps if row["diff_mean"] > 0 else hurts).append(what)
        else:
            unclear.append(what)
    text = [f"Against the baseline `{described}` (paired over shared seeds, Holm-corrected for "
            f"{count(len(table), 'comparison')}):"]
    if helps:
        text.append("better: " + "; ".join(helps) + ".")
    if hurts:
        text.append("worse: " + "; ".join(hurts) + ".")
    if unclear:
        text.append("not separated from the baseline: " + "; ".join(unclear) + ".")
    return " ".join(text)


def gap(row):
    """', gap 2.1 points (baseline 5.0)': the train − validation gap against the baseline's."""
    if not math.isfinite(row["gap_mean"]) or not math.isfinite(row["base_gap"]):
        return ""
    return (f", train − val gap {points(row['gap_mean'], signed=False)} against "
            f"{points(row['base_gap'], signed=False)} at the baseline")
