"""The closing paragraph: which configuration leads, whether the data separate it from the
runner-up (paired over shared seeds, Holm-corrected when K configurations compete), what the
baseline comparison says, and what the numbers cannot tell. It never names a winner the numbers
cannot support: with one seed it says that a single seed cannot separate them. Every count in
it is the n the configurations have: a mean of several seeds comes with its interval, a single
seed's value says it has none.
"""

import math

from netlab.figures.style import label

from . import comparisons
from .coverage import mixed as coverage_mixed
from .stats import ALPHA
from .study import DATASET, SEED, n_val_points
from .text import count, overrides, p_value, pct, pct_range, points, points_range, sentence


def conclusion(study, agg, compared=None, baseline=None, depth=None, mixed=None):
    """The closing paragraphs (markdown); depth: the depth-and-gradients verdict, if any;
    mixed: what the runs mix (coverage.mixed(); computed here when not given)."""
    runs, parts = study.runs, []
    for name, rows, inner in comparisons.scopes(agg, study.keys):
        where = f"On `{name}`, " if name is not None else ""
        parts.append(sentence(" ".join(leader(study, rows, inner, where))))
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


def leader(study, rows, inner, where):
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
        text.append(runner_up(runner, other, k))
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


def runner_up(comparison, other, k):
    """The paired comparison of the best configuration with the runner-up, in words."""
    c = comparison.paired
    seeds = count(c.n, "seed")
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
