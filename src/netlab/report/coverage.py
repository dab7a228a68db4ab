"""The report's opening bullets: which store and sweeps, how many runs, what varied and what was
fixed, where the variation between seeds comes from, and whether the runs share their code
(git commit, training-code hash) and data (data hash, dataset configs) — with a warning if not.
"""

import pandas as pd
from mlflow import MlflowClient

from netlab.figures.style import label
from netlab.paths import PROJECT_ROOT
from netlab.tracking.store import default_uri, sqlite_path

from .study import CONTROL, DATA_SEED, DATASET, SEED, _column, drawn_by, parse_value, set_data_seed
from .text import count, sorted_values, value_list

NOT_SHOWN_FIXED = ("dataset.", "mlflow.")


def mixed(runs):
    """What the runs mix that they should share: ['code versions', 'data', …] (may be empty)."""
    return provenance(runs)[1] + dataset_configs(runs)[1]


def store_name(uri):
    """How the report names a store: a SQLite file inside the project by its relative path (so a
    committed report reads the same on every machine), any other store by its URI."""
    if uri == default_uri():
        return "the project's default store `mlruns/mlflow.db`"
    path = sqlite_path(uri)
    if path is not None and path.resolve().is_relative_to(PROJECT_ROOT):
        return f"the project's store `{path.resolve().relative_to(PROJECT_ROOT)}`"
    return f"`{uri}`"


def coverage(study):
    """Markdown bullets describing what the report covers."""
    runs, lines = study.runs, []
    where = store_name(study.tracking_uri)
    lines.append(f"- Experiment `{study.experiment}` in {where}.")
    lines.extend(sweeps(study))
    states = ", ".join(f"{n} {s}" for s, n in runs["state"].value_counts().items())
    replaced = (f" ({study.n_duplicates} earlier attempts of the same configs replaced by their "
                "rerun)" if study.n_duplicates else "")
    lines.append(f"- {count(len(runs), 'run')}: {states}{replaced}.")
    if study.keys:
        parts = []
        for key in study.keys:
            values = value_list(runs[key])
            if key in study.normalised:
                values += ", — (normalised)"
            parts.append(f"`{key}`: {values}" if " to " in values else f"`{key}` ∈ {{{values}}}")
        lines.append(f"- Swept: {'; '.join(parts)}.")
    lines.extend(seeds(study))
    lines.extend(normalised(study))
    fixed = {k: v for k, v in study.fixed.items()
             if not k.startswith(NOT_SHOWN_FIXED) and k not in (SEED, DATA_SEED, *CONTROL)}
    if fixed:
        lines.append("- Fixed: " + ", ".join(f"`{k}={fixed_value(v)}`"
                                             for k, v in sorted(fixed.items())) + ".")
    lines.extend(provenance(runs)[0])
    lines.extend(dataset_configs(runs)[0])
    return "\n".join(lines)


def fixed_value(logged):
    """A fixed param as written in a config: 'null' for None, numbers without trailing zeros."""
    value = parse_value(logged)
    return "null" if value is None else label(value)


def sweeps(study):
    """Bullets naming the sweeps the covered runs belong to, and the runs left out."""
    runs, client, left = study.runs, MlflowClient(study.tracking_uri), study.left_out
    if study.scope == "chosen":
        lines = ["- The runs of the sweeps chosen with `--sweep`, one per configuration and seed:"]
    elif study.scope == "sweeps":
        lines = [f"- The runs of this experiment's sweeps that share every value the newest sweep "
                 f"(`{study.parent.info.run_id}`) kept fixed, one per configuration and seed (a "
                 "rerun or extended sweep skips configurations that already finished, so results "
                 "can span several sweeps):"]
    elif study.scope == "all":
        lines = ["- Every run of the experiment (`--all`), one per configuration and seed, sweeps "
                 "and runs started on their own alike:"]
    else:
        lines = ["- Every run of the experiment, one per configuration and seed: it has no sweep."]
    sizes = _column(runs, "tags.mlflow.parentRunId").fillna("").value_counts()
    infos = sorted((client.get_run(p).info for p in sizes.index if p), key=lambda i: i.start_time)
    for info in infos:  # oldest first, then the runs started on their own
        started = pd.Timestamp(info.start_time, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  - {count(sizes[info.run_id], 'run')} from sweep `{info.run_id}` "
                     f"({info.run_name}), started {started}")
    if "" in sizes:
        lines.append(f"  - {count(sizes[''], 'run')} started on "
                     f"{'its' if sizes[''] == 1 else 'their'} own (no sweep)")
    if left.get("own"):
        one = left["own"] == 1
        lines.append(f"- {count(left['own'], 'run')} started on {'its' if one else 'their'} own "
                     f"(no sweep) {'is' if one else 'are'} left out; `--all` includes "
                     f"{'it' if one else 'them'}.")
    if left.get("other"):
        one = left["other"] == 1
        differ = "; ".join(f"`{k}` = {', '.join(map(str, v))}"
                           for k, v in left.get("keys", {}).items())
        why = f" with other fixed values ({differ})" if differ else ""
        lines.append(f"- {count(left['other'], 'other run')} of this experiment{why} "
                     f"{'is' if one else 'are'} left out; `--sweep RUN_ID` (repeatable) chooses "
                     "sweeps, `--all` takes every run.")
    return lines


def seed_list(values):
    """Seeds as text: '0–9' for a contiguous range, else the list (or its range when long)."""
    values = [int(v) for v in values]
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    if len(values) > 12:
        return f"{len(values)} seeds from {values[0]} to {values[-1]}"
    return ", ".join(str(v) for v in values)


def variation(runs):
    """Where the differences between seeds come from, in words (data_seed fixed or not)."""
    given = set_data_seed(runs)
    if not given.any() or SEED not in runs:
        return "each seed draws its own data and initialisation"
    fixed = sorted_values(drawn_by(runs[given]))
    if not given.all():
        return (f"some runs fix the data (data_seed = {', '.join(label(v) for v in fixed)}), "
                "the others draw their own with each seed")
    if len(fixed) == 1:
        return (f"one draw of the data, data_seed={label(fixed[0])}; seeds vary the "
                "initialisation only")
    return (f"data_seed is swept ({', '.join(label(v) for v in fixed)}); within each, seeds vary "
            "the initialisation only")


def seeds(study):
    """Bullets on the seeds: which, how many per configuration, where their variation comes from."""
    runs = study.runs
    if SEED not in runs:
        return []
    values = sorted_values(runs[SEED])
    if not study.seeded:
        return [f"- One seed per configuration (seed {seed_list(values)}): {variation(runs)}. "
                "A single seed cannot tell a real difference from the luck of one draw."]
    if study.crossed:
        draws = sorted_values(runs[DATA_SEED])
        return [f"- Data draws × initialisations: data_seed {seed_list(draws)} crossed with seeds "
                f"{seed_list(values)}; each run is one draw of the data (its data_seed) trained "
                "from one initialisation (its seed), so a configuration's runs tell the two "
                "sources of variation apart (see \"Data or initialisation?\"). Runs that differ "
                "only in data_seed and seed are one configuration: tables and figures give their "
                "mean, with n and the 95 % confidence interval of the mean (Student's t); two "
                "configurations are compared paired on the same data draw and seed."]
    per = runs.groupby(study.keys or (lambda _: 0), dropna=False)[SEED].nunique()
    spread = (f"{count(per.iloc[0], 'seed')} per configuration" if per.nunique() == 1
              else f"{per.min()} to {per.max()} seeds per configuration")
    ones = int((per == 1).sum())
    single = (f"; {count(ones, 'configuration')} {'has' if ones == 1 else 'have'} a single seed "
              "and so no interval" if ones else "")
    return [f"- Seeds {seed_list(values)} ({spread}): {variation(runs)}. Runs that differ only in "
            "seed are one configuration: tables and figures give their mean, with n and the 95 % "
            f"confidence interval of the mean (Student's t){single}."]


def normalised(study):
    """A bullet for keys that cannot matter in some runs (their normalised tag)."""
    if not study.normalised:
        return []
    keys = ", ".join(f"`{k}`" for k in study.normalised)
    why = "; ".join(dict.fromkeys(r for reasons in study.normalised.values() for r in reasons))
    n = int(study.runs["normalised"].map(bool).sum())
    return [f"- Normalised: in {count(n, 'run')} {keys} cannot matter ({why}); they are logged "
            "as null, shown as —, and such runs form one configuration (drawn in every column "
            "of the key they ignore)."]


def _hash_groups(runs, tag, short=10):
    column = _column(runs, f"tags.{tag}")
    if column.isna().all():
        return []
    return [(f"`{str(value)[:short]}`" if value != "unknown" else "unknown", len(group))
            for value, group in runs.groupby(column.fillna("unknown"), sort=False)]


def provenance(runs):
    """(bullets, mixed): the runs' git commits, training-code and data hashes; warnings if mixed."""
    lines, mixed = [], []
    dirty = _column(runs, "tags.git_dirty").fillna("unknown")
    commits = _column(runs, "tags.git_commit").fillna("unknown")
    parts = []
    for commit, group in runs.groupby(commits, sort=False):
        n_dirty = int(dirty[group.index].eq("true").sum())
        note = f", {n_dirty} from a tree with uncommitted changes" if n_dirty else ""
        parts.append(f"`{commit[:10]}` ({count(len(group), 'run')}{note})")
    lines.append(f"- Code: {', '.join(parts)}.")
    if len(parts) > 1:
        mixed.append("code versions")
        lines.append("- **Warning: the runs come from different code versions** (listed above); "
                     "differences between them may come from the code, not only the config.")
    code = _hash_groups(runs, "code_hash")
    if code:
        lines.append("- Training code (content hash): " + ", ".join(
            f"{h} ({count(n, 'run')})" for h, n in code) + ".")
        if len(code) > 1:
            mixed.append("training code")
            lines.append("- **Warning: the runs were trained by different code** (the training "
                         "code's hash differs); part of any difference may come from the code.")
    if data_mixed(runs):
        mixed.append("data")
        lines.append("- **Warning: the same dataset config gave different data** (its `data_hash` "
                     "differs between runs that should have read the same data: the file "
                     "changed); their results are not directly comparable.")
    return lines, mixed


def data_mixed(runs):
    """Whether runs that should have read the same data carry different data hashes.

    Same data means the same dataset.* params and, for generated data (no dataset.path), the
    same data seed (data_seed, else seed): each seed draws its own data.
    """
    hashes = _column(runs, "tags.data_hash")
    if hashes.isna().all():
        return False
    keys = [c for c in runs.columns if c.startswith("params.dataset.")]
    frame = runs[keys].fillna("—").astype(str)
    generated = _column(runs, "params.dataset.path").isna()
    data_seed = runs[DATA_SEED] if DATA_SEED in runs else pd.Series(None, index=runs.index)
    seed = runs[SEED] if SEED in runs else pd.Series(None, index=runs.index)
    drawn = data_seed.where(data_seed.notna(), seed)
    frame["_seed"] = drawn.where(generated, "file").astype(str)
    groups = hashes.groupby([frame[c] for c in frame.columns]).nunique()
    return bool((groups > 1).any())


def dataset_configs(runs):
    """(bullets, mixed): each dataset config (dataset.* params); a warning if a name has several."""
    columns = sorted(c for c in runs.columns if c.startswith("params.dataset."))
    if not columns:
        return [], []
    parts = [(c[len("params.dataset."):] + "=" + runs[c]).where(runs[c].map(
        lambda v: isinstance(v, str)), "") for c in columns if c != "params." + DATASET]
    described = (pd.concat(parts, axis=1).apply(lambda row: ", ".join(p for p in row if p),
                                                axis=1, raw=True)
                 if parts else pd.Series("", index=runs.index))
    names = _column(runs, "params." + DATASET, "?").fillna("?")
    lines, clash = ["- Datasets:"], []
    for name in sorted(names.unique()):
        configs = described[names.eq(name)].value_counts()
        for config, n in configs.items():
            lines.append(f"  - `{name}`: {config} ({count(n, 'run')})")
        if len(configs) > 1:
            clash.append(name)
    if clash:
        lines.append(f"- **Warning: {', '.join(clash)} appear with more than one config** (listed "
                     "above); their runs are not directly comparable.")
    return lines, ["dataset configs"] if clash else []
