"""A study's runs read from the tracking store: one row per run, typed columns, what was swept.

load_study() reads the runs of an experiment's sweeps (or of the sweeps chosen, or every run) as
the study's table (netlab.export: mlflow.search_runs's layout, with the curves of its export),
keeps one run per exact config (the newest FINISHED one when a config was rerun) and adds typed
columns: every swept key, seed, the run's state (finished, diverged, failed, killed, running) and
its final metrics. Runs that differ only in seed are one configuration: replicas of a `seeds=N`
job and a `-m seed=0,1,…` sweep look the same here. Keys a run's `normalised` tag names (e.g.
width and activation at depth 0) are null in its params and match any value.
"""

import math
import re
from dataclasses import dataclass, field

import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from netlab.export import table as export

SWEEP_ROLE = "sweep"
SEED, DATA_SEED, DATASET = "seed", "data_seed", "dataset.name"
# what pairs the runs of two configurations: the seed, or (data_seed, seed) when the study crosses
# data draws with initialisations (Study.crossed)
REPLICATE = "replicate"
METRICS = ("val_accuracy", "test_accuracy", "test_f1", "test_loss", "val_loss", "train_accuracy",
           "train_loss", "epochs_run", "train_time_s")
CONTROL = ("log_every", "force", "seeds", "gradcheck")  # how a run is made, not what it trains
PREFERRED = (DATASET, "activation", "depth", "width", "lr")  # the order keys are listed in


@dataclass
class Study:
    """The runs a report covers and where they came from."""

    experiment: str
    experiment_id: str
    tracking_uri: str
    parent: object  # the sweep's parent mlflow Run, or None when the experiment has none
    runs: pd.DataFrame  # one row per run, best validation accuracy first
    keys: list  # swept config keys, seed excluded, in a stable order
    fixed: dict = field(default_factory=dict)  # config keys with one value across the runs
    n_duplicates: int = 0  # runs dropped because a later run of the same config replaced them
    scope: str = "sweeps"  # sweeps (the default), chosen (--sweep), all (--all), no sweep
    left_out: dict = field(default_factory=dict)  # {own: n started on their own (no sweep),
    #   other: n of other sweeps, keys: {key: values} where those differ}
    normalised: dict = field(default_factory=dict)  # {key: [why]} from the runs' normalised tags
    crossed: bool = False  # data_seed crossed with seed: a replicate of the study, not a key

    @property
    def seeded(self):
        """Whether some configuration was run with several seeds."""
        return SEED in self.runs and self.runs.groupby(
            self.keys or (lambda _: 0), dropna=False)[SEED].nunique().max() > 1

    def metric_columns(self, prefix):
        """{layer: column} of the final per-layer metrics named prefix_<layer> (e.g. grad_norm)."""
        found = {}
        for column in self.runs.columns:
            match = re.fullmatch(rf"metrics\.{prefix}_(\d+)", column)
            if match and self.runs[column].notna().any():
                found[int(match.group(1))] = column
        return dict(sorted(found.items()))


def parse_value(text):
    """A param string as logged ('0.3', '8', 'null', 'None', 'tanh') back to a Python value."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if text in ("None", "null"):
        return None
    try:
        value = yaml.safe_load(str(text))
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def find_parent(client, experiment_id, sweep_id=None):
    """The sweep's parent run: sweep_id if given ('latest': the newest), else the newest
    sweep-tagged run (or None)."""
    if sweep_id and sweep_id != "latest":
        try:
            return client.get_run(sweep_id)
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            raise LookupError(f"--sweep {sweep_id!r}: no such run (give latest or a sweep's "
                              "parent run id, or --all)") from None
    found = client.search_runs([experiment_id], f"tags.`netlab.role` = '{SWEEP_ROLE}'",
                               max_results=1, order_by=["attributes.start_time DESC"])
    if found:
        return found[0]
    children = client.search_runs([experiment_id], "", max_results=1000,
                                  order_by=["attributes.start_time DESC"])
    parent_id = next((r.data.tags.get("mlflow.parentRunId") for r in children
                      if r.data.tags.get("mlflow.parentRunId")), None)
    return client.get_run(parent_id) if parent_id else None


def declared_keys(parent):
    """The keys a sweep's parent run says it swept (its `sweep.<key>` params)."""
    return {k[len("sweep."):] for k in parent.data.params if k.startswith("sweep.")}


def state_of(status, diverged):
    """finished, diverged, failed, killed or running, from a run's status and diverged tag."""
    if str(diverged).lower() == "true":
        return "diverged"
    return {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}.get(
        status, str(status).lower())


def status_text(state, epoch=None, why=None, reason=None):
    """The status as the tables show it: 'finished', 'diverged: weights overflow … by epoch 12'
    (its diverged_reason; runs of older versions: 'diverged at epoch 12'), 'failed: why'."""
    if state == "diverged":
        if isinstance(reason, str) and reason:
            return f"diverged: {reason}"
        return f"diverged at epoch {epoch}" if isinstance(epoch, str) and epoch else "diverged"
    if state in ("failed", "killed") and isinstance(why, str) and why.strip():
        return f"{state}: {why.strip().splitlines()[-1][:80]}"
    return state


def _column(runs, name, default=None):
    return runs[name] if name in runs else pd.Series(default, index=runs.index, dtype=object)


def _dedupe(runs):
    """One run per config hash (the newest FINISHED, else the newest): (runs, n dropped)."""
    if "tags.config_hash" not in runs or runs.empty:
        return runs, 0
    runs = runs.assign(_finished=runs["status"].eq("FINISHED"))
    runs = runs.sort_values(["_finished", "start_time"], ascending=False)
    hashed = runs["tags.config_hash"].notna()
    kept = pd.concat([runs[hashed].drop_duplicates("tags.config_hash"), runs[~hashed]])
    return kept.drop(columns="_finished"), len(runs) - len(kept)


def config_columns(runs):
    """The params.* columns, as config keys (params. prefix dropped)."""
    return [c[len("params."):] for c in runs.columns if c.startswith("params.")]


def _not_a_key(key):
    # seed varies within a configuration; other *seed keys derived from it (not data_seed, which
    # a user sets) vary with it; control keys say how a run is made
    return (key == SEED or (key.endswith("seed") and key != DATA_SEED) or key in CONTROL
            or key.startswith("mlflow."))


def normalised_keys(runs):
    """A Series of frozensets: the keys each run's `normalised` tag names, whose param is null."""
    tags = _column(runs, "tags.normalised")
    keys = config_columns(runs)
    sets = []
    for index, tag in tags.items():
        if not isinstance(tag, str) or not tag:
            sets.append(frozenset())
            continue
        named = {k for k in keys if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", tag)}
        sets.append(frozenset(k for k in named
                              if parse_value(runs.at[index, "params." + k]) is None))
    return pd.Series(sets, index=runs.index, dtype=object)


def swept_keys(runs):
    """Config keys whose value varies across runs (seed, derived seeds and control keys aside).

    dataset.* keys other than the name count only where they vary within one dataset: sweeping
    dataset=moons,spiral changes n_samples and noise along with the name: not a sweep of them.
    """
    keys = []
    free = normalised_keys(runs)
    for key in config_columns(runs):
        values = runs["params." + key][~free.map(lambda s, k=key: k in s)]
        if _not_a_key(key) or values.nunique(dropna=False) <= 1:
            continue
        if key.startswith("dataset.") and key != DATASET and "params." + DATASET in runs:
            per_dataset = runs.groupby("params." + DATASET, dropna=False)["params." + key]
            if (per_dataset.nunique(dropna=False) <= 1).all():
                continue
        keys.append(key)
    return sorted(keys, key=lambda k: (PREFERRED.index(k) if k in PREFERRED else len(PREFERRED), k))


def fixed_keys(runs):
    """Config keys with a single value across the runs (normalised nulls aside), as logged."""
    fixed = {}
    for key in config_columns(runs):
        values = runs["params." + key].dropna()
        values = values[~values.isin(["None", "null"])] if values.nunique() > 1 else values
        if values.nunique() == 1:
            fixed[key] = values.iloc[0]
    return fixed


def typed(series):
    """A params column parsed to numbers where every value is one, else to Python values."""
    parsed = {v: parse_value(v) for v in series.dropna().unique()}  # a few distinct values
    values = series.map(parsed)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum() and values.notna().any():
        return numeric
    return values


def comparable(runs, reference, skip=()):
    """Which runs share every config value that is the same across all `reference` runs.

    Returns (mask, {key: values of the runs left out}). Seed is not compared (seeds added by a
    later sweep join the earlier ones), nor a key a run's normalised tag names, nor the keys in
    skip (those the reference's sweep declares swept, though its own runs hold one value).
    """
    mask = pd.Series(True, index=runs.index)
    differing = {}
    free, free_reference = normalised_keys(runs), normalised_keys(reference)
    for key in config_columns(reference):
        if _not_a_key(key) or key in skip:
            continue
        values = reference["params." + key][~free_reference.map(lambda s, k=key: k in s)]
        if values.nunique(dropna=False) != 1:
            continue
        column = runs["params." + key]
        same = (column.eq(values.iloc[0]) | (column.isna() & pd.isna(values.iloc[0]))
                | free.map(lambda s, k=key: k in s))
        if not same.all():
            differing[key] = sorted(column[~same].fillna("(unset)").unique().tolist())
        mask &= same
    return mask, differing


def _select(runs, parent, chosen, every):
    """The runs a report covers (see load_study) and what was left out: {own: runs started on
    their own, other: runs of other sweeps, keys: {key: values} why those differ}."""
    parents = _column(runs, "tags.mlflow.parentRunId").fillna("")
    is_parent = _column(runs, "tags.netlab.role").eq(SWEEP_ROLE) | runs["run_id"].isin(
        set(parents) - {""})
    runs = runs[~is_parent]
    parents = parents[runs.index]
    if every or parent is None:
        return runs, {}
    if chosen:
        kept = runs[parents.isin(chosen)]
        return kept, {"other": len(runs) - len(kept)}
    swept = runs[parents.ne("")]
    children = swept[parents[swept.index].eq(parent.info.run_id)]
    mask, differing = comparable(swept, children, declared_keys(parent))
    return swept[mask], {"own": int(parents.eq("").sum()), "other": int((~mask).sum()),
                         "keys": differing}


def _parents(client, experiment, experiment_id, sweep):
    """(the parent run the report is logged in, or None; the chosen sweeps' ids, [] unless
    --sweep named some), each chosen one checked to be a run of this experiment."""
    if sweep in (None, "all"):
        return find_parent(client, experiment_id), []
    found = {}
    for sweep_id in [sweep] if isinstance(sweep, str) else sweep:
        parent = find_parent(client, experiment_id, sweep_id)
        if parent is None:
            raise LookupError(f"--sweep {sweep_id!r}: experiment {experiment!r} has no sweep")
        if parent.info.experiment_id != experiment_id:
            other = client.get_experiment(parent.info.experiment_id).name
            raise LookupError(f"--sweep {sweep_id!r} is a run of experiment {other!r}, not of "
                              f"{experiment!r}")
        found[parent.info.run_id] = parent
    newest = max(found.values(), key=lambda run: run.info.start_time)
    return newest, list(found)


def load_study(tracking_uri, experiment, sweep=None):
    """The Study of an experiment's runs; sweep: None, 'all', or sweeps ('latest' or a parent run
    id; one, or a list of them).

    None (the default): the runs of the experiment's sweeps comparable with the newest sweep,
    i.e. with the same value for every key it kept fixed (seed aside): a rerun or extended sweep
    skips configs that already FINISHED, so a study's results can span several sweeps, while a
    sweep with another fixed config (say a quick epochs=60 trial) is left out. Runs started on
    their own (`python -m src.run lr=0.7`, no sweep) are never folded in: they are left out and
    counted (an experiment with no sweep at all is reported whole). 'all': every run. Sweeps:
    only their own runs. One run per config either way.
    """
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise LookupError(f"no experiment {experiment!r} in {tracking_uri} (found: {names})")
    parent, chosen = _parents(client, experiment, found.experiment_id, sweep)
    # the runs as mlflow.search_runs lays them out, with the curves the study's export holds
    # for runs that have not changed since (the figures read the others' from the store)
    runs, _ = export.table(client, found.experiment_id,
                           export.read(export.default_path(experiment)), only=set())
    if runs.empty:
        raise LookupError(f"experiment {experiment!r} has no runs")
    runs, left_out = _select(runs, parent, chosen, sweep == "all")
    parents = _column(runs, "tags.mlflow.parentRunId")
    for sweep_id in chosen:
        if not parents.eq(sweep_id).any():
            raise LookupError(f"--sweep {sweep_id!r}: no child runs in {experiment!r} (give "
                              "a sweep's parent run id)")
    if runs.empty:
        raise LookupError(f"the sweeps of {experiment!r} have no child runs comparable with "
                          f"the newest, {parent.info.run_id}; --all reports every run")
    runs, dropped = _dedupe(runs)
    runs = _typed_runs(runs.copy())
    keys = swept_keys(runs)
    for key in {*keys, SEED, DATA_SEED} & set(config_columns(runs)):
        runs[key] = typed(runs["params." + key])
    is_crossed = crossed(runs, keys)
    if is_crossed:
        keys = [k for k in keys if k != DATA_SEED]
        # a run whose data_seed equalled its seed logs it as null (identity.normalise): its draw
        # is its seed, which is no longer a key that could not matter
        runs[DATA_SEED] = drawn_by(runs)
        runs["normalised"] = [frozenset(k for k in keys_of_run if k != DATA_SEED)
                              for keys_of_run in runs["normalised"]]
        runs[REPLICATE] = list(zip(runs[DATA_SEED], runs[SEED], strict=True))
    elif SEED in runs:
        runs[REPLICATE] = runs[SEED]
    order = [k for k in (*keys, DATA_SEED if is_crossed else None, SEED) if k in runs]
    runs = runs.sort_values(order, kind="stable") if order else runs
    runs = runs.sort_values(["val_accuracy", "test_accuracy"], ascending=False, na_position="last",
                            kind="stable").reset_index(drop=True)
    normalised = {}
    for keys_of_run, tag in zip(runs["normalised"], _column(runs, "tags.normalised"), strict=True):
        for key in sorted(keys_of_run, key=str(tag).find):  # in the order the tag names them
            normalised.setdefault(key, set()).add(tag)
    scope = "all" if sweep == "all" else "chosen" if chosen else \
        "sweeps" if parent is not None else "no sweep"
    return Study(experiment, found.experiment_id, tracking_uri, parent, runs, keys,
                 fixed_keys(runs), dropped, scope, left_out,
                 {k: sorted(v) for k, v in normalised.items()}, is_crossed)


def crossed(runs, keys):
    """Whether the runs cross data draws with initialisations: data_seed swept and set on every
    run, and some draw run with several seeds. Its values then replicate a configuration (as
    seeds do) instead of making configurations of their own."""
    if DATA_SEED not in keys or SEED not in runs or runs[DATA_SEED].isna().all():
        return False
    return bool(runs.groupby(drawn_by(runs))[SEED].nunique().max() > 1)


def drawn_by(runs):
    """The seed each run's data were drawn from: its data_seed, else (null) its seed."""
    return runs[DATA_SEED].where(runs[DATA_SEED].notna(), runs[SEED]).astype(int)


def set_data_seed(runs):
    """Which runs were given a data_seed: logged, or logged as null because it equalled the run's
    seed (its `normalised` tag says so); the others drew their data from their seed."""
    if DATA_SEED not in runs:
        return pd.Series(False, index=runs.index)
    voided = (runs["normalised"].map(lambda keys: DATA_SEED in keys) if "normalised" in runs
              else False)
    return runs[DATA_SEED].notna() | voided


def _typed_runs(runs):
    """Add state, status_text, the final metrics as numbers and the normalised keys to runs."""
    diverged = _column(runs, "tags.diverged", "")
    runs["state"] = [state_of(s, d) for s, d in zip(runs["status"], diverged, strict=True)]
    why = _column(runs, "tags.error").where(runs["state"].eq("failed"),
                                            _column(runs, "tags.killed_reason"))
    runs["status_text"] = [status_text(s, e, w, d) for s, e, w, d in zip(
        runs["state"], _column(runs, "tags.diverged_epoch"), why,
        _column(runs, "tags.diverged_reason"), strict=True)]
    for metric in METRICS:
        runs[metric] = pd.to_numeric(_column(runs, "metrics." + metric, math.nan),
                                     errors="coerce")
    bad = runs["state"].ne("finished")
    runs.loc[bad, ["val_accuracy", "test_accuracy", "test_f1", "test_loss", "train_accuracy"]] = \
        math.nan
    if "tags.diverged_epoch" in runs:
        diverged_epoch = pd.to_numeric(runs["tags.diverged_epoch"], errors="coerce")
        runs["epochs_run"] = runs["epochs_run"].fillna(diverged_epoch)
    runs["normalised"] = normalised_keys(runs)
    return runs


def n_val_points(runs):
    """Validation set size per dataset name, from the logged dataset params (None where unknown)."""
    sizes = {}
    names = _column(runs, "params." + DATASET)
    n_samples, val_size = (_column(runs, "params.dataset." + k) for k in ("n_samples", "val_size"))
    for name, n, fraction in zip(names, n_samples, val_size, strict=True):
        n, fraction = parse_value(n), parse_value(fraction)
        if isinstance(n, int) and isinstance(fraction, float):
            sizes[name] = math.ceil(fraction * n)
        else:
            sizes.setdefault(name, None)
    return sizes
