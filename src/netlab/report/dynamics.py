"""Training dynamics per layer, drawn only when the runs recorded them: per epoch and layer l,
`grad_norm_<l>` (‖dW[l]‖), `weight_norm_<l>`, and for hidden layers `saturated_<l>` (sigmoid,
tanh) or `dead_<l>` (relu), the share of such units.

- gradient_norms: each layer's gradient norm against epochs, per activation (the deepest
  configuration of each): where sigmoid's first layers barely move and ReLU's do;
- unit_share_vs_lr: the share of dead (ReLU) or saturated (sigmoid, tanh) hidden units at the end
  of training against the learning rate;
- first_layer_gradient: the first layer's gradient norm (at the end of training) against depth per
  activation, beside validation accuracy; depth_verdict() says in words at what depth each
  activation stops learning, and why.
"""

import math

import numpy as np
import pandas as pd

from netlab.figures import study_plots
from netlab.figures.style import label

from . import stats
from .boundaries import chance_level
from .comparisons import rows_of
from .figure_choice import GROUP, MAX_CELLS, lines_against, split, spread_normalised
from .histories import histories
from .study import DATASET
from .text import count, short

DEPTH = "depth"


def _log_band(histories, column):
    """The band of a positive per-epoch quantity on a log scale (geometric mean and interval)."""
    logged = [h.assign(**{column: np.log10(h[column].where(h[column] > 0))}) for h in histories
              if column in h]
    frame = stats.band(logged, column)
    for c in ("mean", "low", "high"):
        frame[c] = 10.0 ** frame[c]
    return frame


def gradient_norms(study, client, save):
    """[(file, caption)]: each layer's gradient norm against epochs, one panel per activation."""
    layers = study.metric_columns("grad_norm")
    if not layers:
        return []
    runs = study.runs[study.runs["state"].eq("finished")]
    depth = runs[list(layers.values())].notna().sum(axis=1)
    panel_keys = [k for k in (DATASET, GROUP) if k in study.keys]
    cells = []
    for _, group in split(runs, panel_keys)[:MAX_CELLS]:
        deepest = depth[group.index].max()
        if not deepest or group[panel_keys].isna().any(axis=None):
            continue  # nothing recorded, or a normalised configuration (e.g. depth 0)
        candidates = group[depth[group.index].eq(deepest)]
        config = candidates.iloc[candidates["val_accuracy"].argmax()]  # of the best run's config
        chosen = rows_of(candidates, study.keys, config)
        names = [f"grad_norm_{l}" for l in list(layers)[:deepest]]
        found = histories(client, chosen["run_id"].tolist(), names, table=study.runs)
        bands = {f"layer {name.rsplit('_', 1)[1]}": _log_band(found, name) for name in names}
        accuracy = stats.interval(chosen["val_accuracy"]).mean
        cells.append((f"{short(config, study.keys)} — val {accuracy:.3f} (n = {len(found)})",
                      bands))
    if not cells:
        return []
    fig = study_plots.per_layer(cells, "gradient norm ‖dW[l]‖",
                                f"{study.experiment}: gradient norm of each layer during training")
    return [(save(fig, "gradient_norms"),
             "The gradient norm ‖dW[l]‖ of each layer against epochs (log scale), for the deepest "
             "configuration of each " + (" and ".join(panel_keys) or "study")
             + "; the geometric mean over its seeds with the 95 % band. "
             "Layer 1 is the first "
             "hidden layer: where its line lies far below the last layer's, the gradient has "
             "vanished on its way back and the first layers barely move.")]


def unit_share_vs_lr(study, agg, save):
    """[(file, caption)]: the share of dead or saturated hidden units against lr."""
    dead, saturated = study.metric_columns("dead"), study.metric_columns("saturated")
    if "lr" not in study.keys or study.runs["lr"].nunique() < 3 or not (dead or saturated):
        return []
    columns = [*dead.values(), *saturated.values()]
    runs = study.runs.assign(unit_share=study.runs[columns].mean(axis=1, skipna=True))
    table = stats.aggregate(runs, study.keys, {"share": "unit_share"})
    cells, others, panel_keys = lines_against(study, spread_normalised(study, table), "lr",
                                              measure="share")
    fig = study_plots.against(cells, "lr", "share of hidden units dead or saturated",
                              f"{study.experiment}: dead (ReLU) or saturated units against lr")
    return [(save(fig, "unit_share_vs_lr"),
             "The share of hidden units that are dead (ReLU: zero on every training sample) or "
             "saturated (sigmoid, tanh: g′ below 1 % of its maximum on most samples) at the end of "
             "training, mean over the hidden layers, against the learning rate; mean over seeds "
             "with the 95 % band" + (f"; one line per {' × '.join(others)}" if others else "")
             + ". A large step can push ReLU units where no sample activates them, and they "
             "never come back.")]


def first_layer_table(study):
    """The finished runs with `grad1`: their first layer's gradient norm at the end of training
    (the last value logged). None unless depth was swept, alone or with the activation only (other
    swept keys would be pooled), and the runs recorded grad_norm_1."""
    if (DEPTH not in study.keys or not set(study.keys) <= {DEPTH, GROUP}
            or "metrics.grad_norm_1" not in study.runs):
        return None
    runs = study.runs[study.runs["state"].eq("finished")
                      & study.runs["metrics.grad_norm_1"].notna()]
    return None if runs.empty else runs.assign(grad1=runs["metrics.grad_norm_1"])


def first_layer_gradient(study, client, save, table):
    """[(file, caption)]: the first layer's gradient norm and the accuracy against depth."""
    if table is None:
        return []
    group = [GROUP] if GROUP in study.keys else []
    curves = {"gradient": {}, "accuracy": {}}
    for value, runs in (table.groupby(GROUP, sort=True) if group else [("all", table)]):
        grad, acc = [], []
        for depth, at in runs.groupby(DEPTH, sort=True):
            g, a = stats.log_interval(at["grad1"]), stats.interval(at["val_accuracy"])
            grad.append({"x": depth, "y": g.mean, "low": g.low, "high": g.high})
            acc.append({"x": depth, "y": a.mean, "low": a.low, "high": a.high})
        curves["gradient"][label(value)] = pd.DataFrame(grad)
        curves["accuracy"][label(value)] = pd.DataFrame(acc)
    chance = chance_level(client, table)
    fig = study_plots.against(
        [("first layer's gradient", curves["gradient"]), ("validation accuracy",
                                                          curves["accuracy"])],
        DEPTH, ["‖dW[1]‖ at the end of training", "validation accuracy"],
        f"{study.experiment}: the first layer's gradient and the accuracy against depth",
        log_y={0}, lines={1: (chance, "chance (majority class)")} if chance else None)
    return [(save(fig, "first_layer_gradient"),
             "Left: the first hidden layer's gradient norm ‖dW[1]‖ at the end of training "
             "(geometric mean over seeds with the 95 % band, log scale) against depth, "
             "one line per activation. Right: validation accuracy against depth (mean with the "
             "95 % band); the dashed line is chance, the share of the majority class.")]


def factor(before, after):
    """' (41 times smaller)' or ' (2 times larger)': how a gradient changed, in words."""
    if not (before > 0 and after > 0):
        return ""
    ratio = before / after
    if 0.8 <= ratio <= 1.25:
        return " (about the same)"
    change = ratio if ratio > 1 else 1 / ratio
    amount = f"{change:,.0f}" if change >= 10 else f"{change:.1f}"
    return f" ({amount} times {'smaller' if ratio > 1 else 'larger'})"


def depth_verdict(study, table=None, chance=None):
    """In words: at what depth each activation stops learning, and what its first layer's
    gradient does there (None without the table)."""
    if table is None or chance is None:
        return None
    parts = []
    for value, runs in (table.groupby(GROUP, sort=True) if GROUP in table else [("all", table)]):
        depths = sorted(runs[DEPTH].dropna().unique())
        p = stats.holm([stats.above(runs[runs[DEPTH].eq(d)]["val_accuracy"], chance)
                        for d in depths])
        learns = {d: math.isfinite(q) and q < stats.ALPHA for d, q in zip(depths, p, strict=True)}
        grad = {d: stats.log_interval(runs[runs[DEPTH].eq(d)]["grad1"]).mean for d in depths}
        stop = next((d for i, d in enumerate(depths) if not any(learns[e] for e in depths[i:])),
                    None)
        name = f"`{label(value)}`" if GROUP in table else "The network"
        first = depths[0]
        if stop is None:
            last = depths[-1]
            parts.append(f"{name} learns at every depth tried ({label(first)} to {label(last)}): "
                         f"its first layer's gradient goes from {grad[first]:.1e} at depth "
                         f"{label(first)} to {grad[last]:.1e} at depth {label(last)}"
                         f"{factor(grad[first], grad[last])}.")
        elif stop == first:
            parts.append(f"{name} does not beat chance at any depth tried.")
        else:
            parts.append(f"{name} stops learning at depth {label(stop)}: from there on its "
                         f"validation accuracy is not above chance, while its first layer's "
                         f"gradient norm is {grad[stop]:.1e} against {grad[first]:.1e} at depth "
                         f"{label(first)}{factor(grad[first], grad[stop])}"
                         + (" — the gradient vanishes before it reaches the first layer, which "
                            "then barely moves." if grad[stop] < grad[first] / 10 else
                            " — not a vanishing gradient: look at the curves and the "
                            "boundaries for why."))
    n = int(table.groupby([k for k in study.keys if k != "seed"], dropna=False)
            .size().min()) if study.keys else len(table)
    return (f"**Depth and gradients.** At least {count(n, 'seed')} per configuration; a "
            f"configuration learns when its mean validation accuracy is above chance "
            f"({100 * chance:.1f} %, the majority class; one-sided one-sample t-test, "
            "Holm-corrected over depths). " + " ".join(parts))

