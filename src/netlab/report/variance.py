"""Data or initialisation? (Bouthillier et al. 2021, "Accounting for variance in machine learning
benchmarks"). When a study crosses data draws with initialisations (`data_seed=range(5) seeds=5`:
every draw of the data trained from every initialisation), a configuration's spread splits into
the data draw's part, the initialisation's part and the rest (their interaction and all else).

components(): that split, from a random-effects model with crossed variance components for the
data draw and the initialisation, fitted by REML (statsmodels' MixedLM, the usual way to give it
crossed effects: one group holding every run, a variance component per factor). For a complete
design it equals the two-way ANOVA's estimates while they are positive (the tests check it).
per_draw(): a paired comparison draw by draw: on how many draws of the data the leader is ahead.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Components:
    """A configuration's variance of one score, split: data draw, initialisation, the rest."""

    n: int  # runs
    draws: int  # distinct data draws
    inits: int  # distinct initialisation seeds
    data: float
    init: float
    rest: float

    @property
    def total(self):
        return self.data + self.init + self.rest

    def share(self, part):
        """A part's share of the total variance (NaN when the runs do not vary)."""
        value = getattr(self, part)
        return value / self.total if self.total > 0 else math.nan


def components(draw, init, score):
    """Components of score over runs identified by (draw, init); None with fewer than two draws
    or two initialisations, or fewer runs than the model has parameters."""
    frame = pd.DataFrame({"draw": list(draw), "init": list(init),
                          "score": np.asarray(score, dtype=float)}).dropna()
    draws, inits = frame["draw"].nunique(), frame["init"].nunique()
    if draws < 2 or inits < 2 or len(frame) < 4:
        return None
    if frame["score"].nunique() == 1:
        return Components(len(frame), draws, inits, 0.0, 0.0, 0.0)
    import statsmodels.formula.api as smf

    # standardised: accuracies vary by ~1e-3 in variance, where the optimisers' tolerances bite
    mean, sd = frame["score"].mean(), frame["score"].std(ddof=1)
    frame["score"], frame["group"] = (frame["score"] - mean) / sd, 0
    model = smf.mixedlm("score ~ 1", frame, groups="group", re_formula="0",
                        vc_formula={"draw": "0 + C(draw)", "init": "0 + C(init)"})
    fits = []
    with warnings.catch_warnings():  # a part estimated at 0 lies on the parameter space's edge
        warnings.simplefilter("ignore")
        # MixedLM's gradient optimisers stall near that edge; Nelder–Mead does not: the fit with
        # the highest REML likelihood is kept
        for method in ("nm", "lbfgs"):
            try:
                fits.append(model.fit(reml=True, method=method, maxiter=5000))
            except (ValueError, np.linalg.LinAlgError):
                continue
    if not fits:
        return None
    fitted = max(fits, key=lambda f: f.llf)
    parts = dict(zip(model.exog_vc.names, np.maximum(fitted.vcomp, 0.0) * sd**2, strict=True))
    return Components(len(frame), draws, inits, float(parts["draw"]), float(parts["init"]),
                      float(fitted.scale * sd**2))


@dataclass(frozen=True)
class PerDraw:
    """a − b draw by draw: each draw's mean paired difference over its seeds."""

    means: dict  # {draw: mean difference}

    @property
    def ahead(self):
        return sum(1 for d in self.means.values() if d > 0)

    @property
    def behind(self):
        return sum(1 for d in self.means.values() if d < 0)


def per_draw(a, b):
    """PerDraw of scores a and b ({(draw, seed): score}) over the pairs both have."""
    differences = {}
    for key in set(a) & set(b):
        d = float(a[key]) - float(b[key])
        if math.isfinite(d):
            differences.setdefault(key[0], []).append(d)
    return PerDraw({draw: float(np.mean(d)) for draw, d in sorted(differences.items())})
