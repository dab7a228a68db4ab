"""`python -m src.reproduce RUN`: rerun a logged run from its stored config, into a new run of the
same experiment, and report whether every metric and every weight matches.

RUN is a run id or any unique prefix of one (the report prints 8 characters). A sweep's parent run
reproduces every finished run of its sweep. Bit for bit is expected on the same machine with the
same library versions (the run's versions.* tags); otherwise values must agree within a relative
tolerance of 1e-6 (absolute 1e-9), stated in the report. Timing metrics are not compared. Every
error is one line.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf

from netlab.tracking.store import TrackingUnavailable, first_line, open_existing, resolve_uri

UNCOMPARED = {"train_time_s", "tracking_time_s"}
RTOL, ATOL = 1e-6, 1e-9


class NotReproducible(LookupError):
    """What was asked cannot be reproduced; the message is one line."""


def compare(a, b, exact):
    """True when arrays a and b match: bit for bit if exact, else within RTOL/ATOL."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if not (np.issubdtype(a.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
        return np.array_equal(a, b)
    if exact:
        return np.array_equal(a, b, equal_nan=True)
    return np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)


def find_run(client, prefix):
    """The run whose id is `prefix` or starts with it, in any experiment (NotReproducible if none
    or several)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise NotReproducible(f"{prefix!r} is not a run id (hexadecimal, at least 4 characters)")
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(experiments, f"attributes.run_id LIKE '{prefix}%'", max_results=3)
    if not found:
        raise NotReproducible(f"no run id starts with {prefix!r} in {client.tracking_uri}")
    if len(found) > 1:
        ids = ", ".join(r.info.run_id[: len(prefix) + 4] for r in found)
        raise NotReproducible(f"{prefix!r} is the start of several run ids ({ids}…): give more "
                              "characters")
    return found[0]


def metric_histories(client, run):
    """{metric: [(step, value), …]} of a run, without the timing metrics."""
    return {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in sorted(run.data.metrics) if key not in UNCOMPARED}


def weights(client, run_id):
    """The run's weights.npz as a dict of arrays ({} when it has none, e.g. a diverged run)."""
    if "weights.npz" not in {f.path for f in client.list_artifacts(run_id)}:
        return {}
    with tempfile.TemporaryDirectory(prefix="netlab-reproduce-") as folder:
        path = client.download_artifacts(run_id, "weights.npz", folder)
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}


def stored_config(client, run):
    """The run's config.yaml as a config to train, with today's defaults for keys it predates.

    The stored file is data, whoever wrote it: read as plain YAML, refused if any string in it is
    an interpolation (`${oc.env:…}` would put an environment variable's value into the store),
    then checked as a command line's config is (the schema's keys and types, every value, the
    data file, memory). NotReproducible, one line, when it cannot be rerun.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from netlab import resources
    from netlab.config import ConfigError, one_line, validate
    from netlab.paths import PROJECT_ROOT

    run_id = run.info.run_id
    if "config.yaml" not in {f.path for f in client.list_artifacts(run_id)}:
        raise NotReproducible(f"run {run_id} has no config.yaml to rerun it from")
    with tempfile.TemporaryDirectory(prefix="netlab-reproduce-") as folder:
        text = Path(client.download_artifacts(run_id, "config.yaml", folder)).read_text()
    try:
        stored = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise NotReproducible(f"run {run_id}: its config.yaml is not YAML: "
                              f"{first_line(error)}") from None
    if not isinstance(stored, dict):
        raise NotReproducible(f"run {run_id}: its config.yaml is not a mapping of keys")
    found = interpolation(stored)
    if found is not None:
        raise NotReproducible(f"run {run_id}: its config.yaml has an interpolation at {found}: a "
                              "stored config is data, nothing in it is resolved")
    groups = []
    for group in ("dataset", "optimizer"):
        name = stored.get(group, {}).get("name") if isinstance(stored.get(group), dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
            raise NotReproducible(f"run {run_id}: its config.yaml has {group}.name={name!r}: not "
                                  f"the name of a {group} (conf/{group}/)")
        groups.append(f"{group}={name}")
    try:
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            base = compose("config", overrides=groups)
        cfg = OmegaConf.merge(base, OmegaConf.create(stored))
        validate(cfg)
        resources.check(cfg)
    except (ConfigError, HydraException, OmegaConfBaseException) as error:
        raise NotReproducible(f"run {run_id}: its config.yaml: {one_line(error)}") from None
    except MemoryError as error:
        raise NotReproducible(f"run {run_id}: its config.yaml: {error}") from None
    return cfg


def interpolation(node, path=""):
    """The dotted path of the first key or string value in node (plain YAML data) that OmegaConf
    would resolve (it holds `${`), else None."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}{key}"
            if "${" in str(key):
                return where
            found = interpolation(value, where + ".")
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = interpolation(value, f"{path}{index}.")
            if found is not None:
                return found
    elif isinstance(node, str) and "${" in node:
        return path.rstrip(".")
    return None


def reproduce_one(client, original):
    """Rerun one run into a new run; returns (new run id, mismatches, exact)."""
    from netlab.job import JobContext, train_and_record

    cfg = stored_config(client, original)
    experiment = client.get_experiment(original.info.experiment_id).name
    context = JobContext(tracking_uri=client.tracking_uri, experiment=experiment,
                         overrides=original.data.tags.get("overrides", "").split(),
                         multirun=True, force=True,
                         tags={"reproduces": original.info.run_id},
                         name=f"reproduce {original.info.run_name}")
    outcome = train_and_record(cfg, context)
    new = client.get_run(outcome.run_ids()[0])
    same_versions = all(new.data.tags.get(k) == v for k, v in original.data.tags.items()
                        if k.startswith("versions.")) and (
        new.data.tags.get("netlab.host") == original.data.tags.get("netlab.host"))
    mismatches = []
    before, after = metric_histories(client, original), metric_histories(client, new)
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            mismatches.append(f"metric {key}: only in the {'new' if key in after else 'old'} run")
        elif [s for s, _ in before[key]] != [s for s, _ in after[key]] or not compare(
                [v for _, v in before[key]], [v for _, v in after[key]], same_versions):
            mismatches.append(
                f"metric {key}: final {before[key][-1][1]!r} -> {after[key][-1][1]!r}")
    old_w, new_w = weights(client, original.info.run_id), weights(client, new.info.run_id)
    for key in sorted(set(old_w) | set(new_w)):
        if key not in old_w or key not in new_w or not compare(old_w[key], new_w[key],
                                                                 same_versions):
            mismatches.append(f"weights {key}: differ")
    return new.info.run_id, mismatches, same_versions


def targets(client, run):
    """The runs to reproduce for `run`: itself, or every finished run of the sweep it leads."""
    if run.data.tags.get("netlab.role") != "sweep":
        return [run]
    from netlab.tracking.sweep import children

    runs = [r for r in children(client, run.info.run_id) if r.info.status == "FINISHED"]
    if not runs:
        raise NotReproducible(f"run {run.info.run_id} is a sweep's parent run with no finished "
                              "run to reproduce; pass one of its runs' ids")
    return sorted(runs, key=lambda r: r.info.start_time)


def main(argv=None):
    """Command line entry; exits 0 when everything matches, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m src.reproduce",
                                     description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("run_id", help="a run id or a unique prefix of one")
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI, else mlruns/")
    args = parser.parse_args(argv)
    try:
        from netlab.tracking.logger import new_client

        uri = resolve_uri(args.tracking_uri)
        open_existing(uri)  # a run to reproduce is in a store that exists: none is created
        client = new_client(uri)
        runs = targets(client, find_run(client, args.run_id))
    except (TrackingUnavailable, NotReproducible) as error:
        raise SystemExit(f"reproduce: {error}") from None
    except Exception as error:  # noqa: BLE001 - a store that answers with an error
        raise SystemExit(f"reproduce: {type(error).__name__}: {first_line(error)}") from None
    failures = 0
    for original in runs:
        try:
            new_id, mismatches, exact = reproduce_one(client, original)
        except NotReproducible as error:
            print(f"reproduce: {error}", file=sys.stderr)
            failures += 1
            continue
        how = ("bit for bit" if exact
               else f"within rtol={RTOL:g}, atol={ATOL:g} (other versions or host)")
        old = original.info.run_id
        if mismatches:
            failures += 1
            print(f"run {new_id} does NOT reproduce {old} ({how}):")
            print("\n".join(f"  {line}" for line in mismatches))
        else:
            print(f"run {new_id} reproduces {old}: every metric and weight matches {how}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
