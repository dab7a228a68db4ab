"""A study's runs as a table: read from the tracking store, one row per config, what was swept.

load_study() reads an experiment's runs (or one sweep's) with mlflow.search_runs (a pandas
DataFrame), keeps one run per exact config (the newest FINISHED one when a config was rerun) and
adds typed columns: every swept key, the run's state (finished, diverged, failed, killed, running),
the final metrics. swept_keys() says
which config keys vary; aggregate_seeds() folds runs that differ only by seed into mean ± std and n.
"""

import math
from dataclasses import dataclass, field

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient

SWEEP_ROLE = "sweep"
SEED = "seed"
DATASET = "dataset.name"
METRICS = ("val_accuracy", "test_accuracy", "test_f1", "test_loss", "val_loss", "train_accuracy",
           "epochs_run", "train_time_s")


@dataclass
class Study:
    """The runs a report covers and where they came from."""

    experiment: str
    experiment_id: str
    tracking_uri: str
    parent: object  # the sweep's parent mlflow Run, or None when the experiment has none
    runs: pd.DataFrame  # one row per configuration (see load_study)
    keys: list  # swept config keys, seed excluded, in a stable order
    fixed: dict = field(default_factory=dict)  # config keys with one value across the runs
    n_duplicates: int = 0  # runs dropped because a later run of the same config replaced them
    one_sweep: bool = False  # only the parent's children (else runs of any sweep)
    left_out: dict = field(default_factory=dict)  # {n, keys: {key: values}} of runs not comparable


def parse_value(text):
    """A param string as logged ('0.3', '8', 'null', 'tanh') back to a Python value."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    try:
        value = yaml.safe_load(str(text))
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def find_parent(client, experiment_id, sweep_id=None):
    """The sweep's parent run: sweep_id if given, else the newest sweep-tagged run (or None)."""
    if sweep_id:
        return client.get_run(sweep_id)
    found = client.search_runs([experiment_id], f"tags.`netlab.role` = '{SWEEP_ROLE}'",
                               max_results=1, order_by=["attributes.start_time DESC"])
    if found:
        return found[0]
    # sweeps logged without the role tag: the newest run that has children
    children = client.search_runs([experiment_id], "", max_results=1000,
                                  order_by=["attributes.start_time DESC"])
    parents = [r.data.tags.get("mlflow.parentRunId") for r in children]
    parent_id = next((p for p in parents if p), None)
    return client.get_run(parent_id) if parent_id else None


def state_of(row):
    """finished, diverged, failed, killed or running, from a search_runs row."""
    if str(row.get("tags.diverged", "")).lower() == "true":
        return "diverged"
    return {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}.get(
        row["status"], str(row["status"]).lower())


def status_text(row):
    """The status as the table shows it: 'finished', 'diverged at epoch 12', 'failed: why'."""
    state = row["state"]
    if state == "diverged":
        epoch = row.get("tags.diverged_epoch")
        return f"diverged at epoch {epoch}" if isinstance(epoch, str) and epoch else "diverged"
    if state in ("failed", "killed"):
        why = row.get("tags.error") if state == "failed" else row.get("tags.killed_reason")
        if isinstance(why, str) and why:
            why = why.strip().splitlines()[-1]
            return f"{state}: {why[:80]}"
    return state


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


def _is_derived(key):
    # seeds derived from `seed` (data_seed, init_seed, a sampler's seed) vary with it: not swept
    return key != SEED and key.split(".")[-1].endswith("seed")


def swept_keys(runs):
    """Config keys whose value varies across runs, seed and derived seeds excluded.

    dataset.* keys other than the name count only where they vary within one dataset: sweeping
    dataset=moons,spiral changes n_samples and noise along with the name: not a sweep of them.
    """
    keys = []
    for key in config_columns(runs):
        if key == SEED or _is_derived(key):
            continue
        values = runs["params." + key]
        if values.nunique(dropna=False) <= 1:
            continue
        if key.startswith("dataset.") and key != DATASET and "params." + DATASET in runs:
            per_dataset = runs.groupby("params." + DATASET, dropna=False)["params." + key]
            if (per_dataset.nunique(dropna=False) <= 1).all():
                continue
        keys.append(key)
    preferred = [DATASET, "activation", "depth", "width", "lr"]
    return sorted(keys, key=lambda k: (preferred.index(k) if k in preferred else len(preferred), k))


def fixed_keys(runs):
    """Config keys with a single value across the runs, as {key: value as logged}."""
    fixed = {}
    for key in config_columns(runs):
        values = runs["params." + key].dropna().unique()
        if len(values) == 1:
            fixed[key] = values[0]
    return fixed


def typed(series):
    """A params column parsed to numbers where every value is one, else to Python values."""
    values = series.map(parse_value)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum() and values.notna().any():
        return numeric
    return values


NOT_IDENTITY = ("log_every", "force")  # how a run is logged, not what it trains (nor mlflow.*)


def comparable(runs, reference):
    """Which runs share every config value that is the same across all `reference` runs.

    Returns (mask, {key: values of the runs left out}); seed is not compared, so seeds added by a
    later sweep join the earlier ones.
    """
    mask = pd.Series(True, index=runs.index)
    differing = {}
    for key in config_columns(reference):
        if key == SEED or _is_derived(key) or key in NOT_IDENTITY or key.startswith("mlflow."):
            continue
        values = reference["params." + key]
        if values.nunique(dropna=False) != 1:
            continue
        column = runs["params." + key]
        same = column.eq(values.iloc[0]) | (column.isna() & pd.isna(values.iloc[0]))
        if not same.all():
            differing[key] = sorted(column[~same].fillna("(unset)").unique().tolist())
        mask &= same
    return mask, differing


def load_study(tracking_uri, experiment, sweep=None):
    """The Study of an experiment's runs; sweep: None, 'all', 'latest' or a parent run id.

    None (the default): the runs comparable with the newest sweep, i.e. with the same value for
    every key its runs share (seed aside): a rerun sweep skips configs that already FINISHED, so
    a study's results can span several sweeps, while runs of the same experiment with another
    fixed config (say a quick epochs=60 trial) are left out, and the report says so. 'all': every
    run. 'latest' or an id: only that sweep's own runs. One run per config either way. The parent
    (the run the report is logged to) is the sweep asked for, else the newest one.
    """
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise LookupError(f"no experiment {experiment!r} in {tracking_uri} (found: {names})")
    parent = find_parent(client, found.experiment_id,
                         None if sweep in (None, "all", "latest") else sweep)
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs([found.experiment_id], max_results=50000, output_format="pandas")
    if runs.empty:
        raise LookupError(f"experiment {experiment!r} has no runs")
    roles = runs.get("tags.netlab.role", pd.Series(index=runs.index, dtype=object))
    is_parent = roles.eq(SWEEP_ROLE)
    if parent is not None:
        is_parent |= runs["run_id"].eq(parent.info.run_id)
    parents = runs.get("tags.mlflow.parentRunId", pd.Series(index=runs.index, dtype=object))
    children = runs[parents.eq(parent.info.run_id)] if parent is not None else runs.iloc[:0]
    left_out = {}
    if sweep in (None, "all") or parent is None:
        runs = runs[~is_parent]
        if sweep is None and len(children):
            mask, left_out = comparable(runs, children)
            left_out = {"n": int((~mask).sum()), "keys": left_out} if left_out else {}
            runs = runs[mask]
    else:
        runs = children
    if runs.empty:
        raise LookupError(f"the sweep {parent.info.run_id} of {experiment!r} has no child runs")
    runs, dropped = _dedupe(runs)
    runs = runs.copy()
    runs["state"] = runs.apply(state_of, axis=1)
    runs["status_text"] = runs.apply(status_text, axis=1)
    for metric in METRICS:
        column = runs.get("metrics." + metric, pd.Series(math.nan, index=runs.index))
        runs[metric] = pd.to_numeric(column, errors="coerce")
    bad = runs["state"].ne("finished")
    runs.loc[bad, ["val_accuracy", "test_accuracy", "test_f1", "test_loss"]] = math.nan
    if "tags.diverged_epoch" in runs:
        diverged_epoch = pd.to_numeric(runs["tags.diverged_epoch"], errors="coerce")
        runs["epochs_run"] = runs["epochs_run"].fillna(diverged_epoch)
    keys = swept_keys(runs)
    for key in {*keys, SEED} & set(config_columns(runs)):
        runs[key] = typed(runs["params." + key])
    order = [k for k in (*keys, SEED) if k in runs]
    runs = runs.sort_values(order, kind="stable") if order else runs
    runs = runs.sort_values(["val_accuracy", "test_accuracy"], ascending=False, na_position="last",
                            kind="stable").reset_index(drop=True)
    return Study(experiment, found.experiment_id, tracking_uri, parent, runs, keys,
                 fixed_keys(runs), dropped, sweep not in (None, "all") and parent is not None,
                 left_out)


def seed_swept(study):
    """Whether runs of one configuration were repeated with several seeds."""
    return SEED in study.runs and study.runs[SEED].nunique() > 1


def aggregate_seeds(runs, keys):
    """One row per configuration (keys without seed): mean, std and n of the finished runs' metrics.

    n counts finished runs; n_runs all runs of the configuration (diverged and failed included).
    """
    group = list(keys) or None
    frame = runs.assign(_ok=runs["state"].eq("finished"), _one=0)
    grouped = frame.groupby(group or "_one", dropna=False, sort=False)
    table = grouped.agg(
        val_mean=("val_accuracy", "mean"), val_std=("val_accuracy", "std"),
        test_mean=("test_accuracy", "mean"), test_std=("test_accuracy", "std"),
        n=("_ok", "sum"), n_runs=("run_id", "count"),
        epochs_mean=("epochs_run", "mean"), time_mean=("train_time_s", "mean"),
    ).reset_index()
    if not group:
        table = table.drop(columns="_one")
    table["n"] = table["n"].astype(int)
    return table.sort_values(["val_mean", "test_mean"], ascending=False, na_position="last",
                             kind="stable").reset_index(drop=True)


def n_val_points(runs):
    """Validation set size per dataset name, from the logged dataset params (None where unknown)."""
    sizes = {}
    for _, row in runs.iterrows():
        n, fraction = parse_value(row.get("params.dataset.n_samples")), parse_value(
            row.get("params.dataset.val_size"))
        name = row.get("params." + DATASET)
        if isinstance(n, int) and isinstance(fraction, float):
            sizes[name] = math.ceil(fraction * n)
        else:
            sizes.setdefault(name, None)
    return sizes
