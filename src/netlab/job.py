"""One job of a sweep (or a single run): which replicas to train, their runs, the training, what
they record, and the line the job prints.

A job with `seed=s seeds=N` trains N replicas, seeds s … s+N−1, each its own run with the config
hash the single run of that seed would have. In a sweep, a replica whose configuration already has
a FINISHED run in the experiment is skipped (`+force=true` trains it again); a single run always
trains, and says which earlier run it repeats. Each run is created RUNNING before training: that is
the claim on its configuration, so two sweeps started at once on one store train each
configuration once (src/netlab/tracking/store.py: claim_lost).

Knows nothing of Hydra: netlab.hydra_glue builds the JobContext from Hydra's config.

Why one file of ~340 lines: what one job does, from skip and claim to the printed line, is one
sequence that reads top to bottom.
"""

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from netlab import experiment, identity, interrupts, snapshots
from netlab.config import identity_keys, job_seeds
from netlab.recording import RUN_FILES, Curves, record

SHORT_KEYS = {"dataset", "activation", "optimizer", "init"}  # values that name themselves


@dataclass
class JobContext:
    """Where a job logs, and what it is within its sweep."""

    tracking_uri: str
    experiment: str
    overrides: list = field(default_factory=list)  # the job's overrides as typed
    swept: tuple = ()  # the keys the sweep varies (they name the runs)
    multirun: bool = False
    job_num: int | None = None
    parent_run_id: str | None = None
    sweep_size: int | None = None
    sweep_start: float | None = None  # time.time() when the sweep started
    output_dir: Path | None = None
    force: bool = False
    tags: dict = field(default_factory=dict)  # added to every run's tags
    name: str | None = None  # the runs' name (default: run_name())

    def head(self):
        """How the job's line starts: '#3 [4/12] activation=tanh'."""
        place = f"#{self.job_num} " if self.job_num is not None else ""
        if self.sweep_size:
            place += f"[{self.job_num + 1}/{self.sweep_size}] "
        shown = [o for o in self.overrides if not o.lstrip("+").startswith(("mlflow.", "force="))
                 and not o.startswith("+experiment=")]
        return place + (" ".join(shown) or "(defaults)")

    def eta(self):
        """' ETA 2 min' from the sweep's pace so far ('' outside a sweep)."""
        if not (self.sweep_size and self.sweep_start) or self.job_num is None:
            return ""
        done, left = self.job_num + 1, self.sweep_size - self.job_num - 1
        if left <= 0:
            return ""
        seconds = (time.time() - self.sweep_start) / done * left
        return f"  ETA {seconds / 60:.0f} min" if seconds >= 90 else f"  ETA {seconds:.0f} s"


def run_name(context, seed=None):
    """A run's name: its swept values only, short ('spiral · sigmoid', 'lr 0.1 · relu · seed 3')."""
    parts = []
    for override in context.overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key in context.swept or not context.swept and key not in ("experiment", "force") \
                and not key.startswith(("mlflow.", "hydra.")):
            parts.append(value if key in SHORT_KEYS else f"{key.rsplit('.', 1)[-1]} {value}")
    if seed is not None:
        parts.append(f"seed {seed}")
    return " · ".join(parts) or "defaults"


@dataclass
class Outcome:
    """What a job did: every replica, which were trained (and their RunLoggers), which skipped."""

    replicas: list
    hashes: list  # (config_hash, group_hash) per replica
    trained: list  # indices into replicas
    loggers: list  # one per trained replica
    skipped: list  # indices into replicas
    done: dict  # config_hash -> the FINISHED run found before training
    elsewhere: dict = field(default_factory=dict)  # index -> run of another process training it

    def run_ids(self):
        """The ids of the runs this job wrote, in replica order."""
        return [logger.run_id for logger in self.loggers]


def run(cfg, context, members=None):
    """Train the job's replicas into their runs; print one line (one per member); returns the mean
    validation accuracy over its seeds (NaN when none finished), which a sweeper (Optuna)
    maximises. members: [(cfg, context)] of the configurations a packed job trains together
    (netlab.hydra_glue.packing; default: cfg alone), each printed and logged as its own job.

    A job that raises (its store failed, or its training: its runs end FAILED saying why) prints
    one line and, in a sweep, lets the sweep go on (a single run exits with status 1);
    NETLAB_DEBUG=1 lets the exception through."""
    members = members or [(cfg, context)]
    try:
        outcomes = train_members(members)
    except Exception as error:  # noqa: BLE001 - one line, not a traceback
        if os.environ.get("NETLAB_DEBUG"):
            raise
        for _, each in members:
            print(f"{each.head()}: FAILED {failure(each, error)}", flush=True)
        if not context.multirun:
            raise SystemExit(1) from None
        return math.nan
    values = [report(c, x, outcome) for (c, x), outcome in zip(members, outcomes, strict=True)]
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def failure(context, error):
    """Why a job raised, in one line: the store's failure, or the error (its runs, if it had
    any, keep the traceback as error.txt)."""
    from netlab.tracking.logger import UNENDED_NOTE
    from netlab.tracking.store import failure_line, first_line, is_store_error

    # a run the store took not even the end of (RunLogger notes it on the error)
    unended = f"; {UNENDED_NOTE}" if UNENDED_NOTE in getattr(error, "__notes__", ()) else ""
    if is_store_error(error):
        return f"(tracking: {failure_line(context.tracking_uri, error)}{unended})"
    return (f"{type(error).__name__}: {first_line(error)}{unended} (NETLAB_DEBUG=1 shows the "
            "traceback)")


@dataclass
class Plan:
    """One member's replicas before training: which seeds, their hashes, what is done."""

    cfg: object
    context: JobContext
    replicas: list
    hashes: list
    n_train: int | None
    done: dict
    todo: list
    skipped: list


def plan(client, experiment_id, cfg, context):
    """Which of a configuration's replicas to train: in a sweep, those without a FINISHED run
    that still has its files (+force=true: all); a single run always trains."""
    from netlab.tracking.store import finished_by_hash, runs_of_group, with_artifacts

    seeds = job_seeds(cfg)
    hashes, n_train = identity.of_job(cfg, seeds)  # the data described, not loaded yet
    done = finished_by_hash(runs_of_group(client, experiment_id, hashes[0][1]))
    if context.multirun and not context.force:  # what is skipped must still have its files
        kept = with_artifacts(client, done.values(), RUN_FILES)
        done = {chash: run for chash, run in done.items() if run in kept}
    todo = [i for i, (chash, _) in enumerate(hashes)
            if context.force or not context.multirun or chash not in done]
    skipped = [i for i in range(len(seeds)) if i not in todo]
    return Plan(cfg, context, experiment.replicas_of(cfg, seeds), hashes, n_train, done, todo,
                skipped)


def claim(client, experiment_id, plan, summary, stack):
    """Create the runs of a member's replicas to train, RUNNING (the claim); give up those another
    process claimed first. Returns (trained indices, their loggers, {index: the other's run})."""
    from netlab.tracking.logger import RunLogger
    from netlab.tracking.store import claim_lost

    cfg, context, replicas, hashes = plan.cfg, plan.context, plan.replicas, plan.hashes
    config = identity_keys(cfg)
    show_seed = cfg.seeds > 1 or "seed" in context.swept
    loggers = []
    for i in plan.todo:
        replica, (chash, group) = replicas[i], hashes[i]
        # each replica's own: data_seed equal to its seed is void for that replica alone
        params, notes = identity.normalise({**config, "seed": replica.seed},
                                           n_train=plan.n_train)
        tags = {"config_hash": chash, "group_hash": group, "seed": replica.seed,
                "overrides": " ".join(context.overrides), "job_num": context.job_num}
        if notes:
            tags["normalised"] = normalised_tag(notes)
        if chash in plan.done and not context.multirun:
            tags["repeats"] = plan.done[chash].info.run_id
        if getattr(replica.data, "content_hash", None):
            tags["data_hash"] = replica.data.content_hash
        if summary:  # each replica's own: its training part may lack a rare category
            tags["data_summary"] = replica.data.summary()
        name = context.name or run_name(context, replica.seed if show_seed else None)
        logger = RunLogger(client, experiment_id, params=params,
                           tags={**tags, **context.tags}, run_name=name,
                           parent_run_id=context.parent_run_id)
        loggers.append(stack.enter_context(logger))  # the run exists: the claim
    lost = claim_lost(client, experiment_id, hashes[0][1],
                      {hashes[i][0]: lg.run_id for i, lg in zip(plan.todo, loggers, strict=True)},
                      rerun=context.force or not context.multirun) if plan.todo else {}
    elsewhere = {}  # replica index -> the run of another process that trains it
    for i, logger in zip(plan.todo, loggers, strict=True):
        if hashes[i][0] in lost:  # another sweep claimed it first: leave it to that one
            logger.abandon()
            elsewhere[i] = lost[hashes[i][0]]
    kept = [k for k, i in enumerate(plan.todo) if hashes[i][0] not in lost]
    return [plan.todo[k] for k in kept], [loggers[k] for k in kept], elsewhere


def train_and_record(cfg, context):
    """Skip what finished before (in a sweep), claim, train and record the job's replicas;
    returns its Outcome."""
    return train_members([(cfg, context)])[0]


def train_members(members):
    """train_and_record for each of a packed job's members [(cfg, context)], their replicas
    trained in one stack; returns an Outcome per member."""
    from netlab.tracking.logger import new_client
    from netlab.tracking.store import check_reachable, get_or_create_experiment

    cfg, context = members[0]  # what the members share: store, shapes, epochs, logging
    check_reachable(context.tracking_uri)  # a server gone since the sweep began: fail at once
    client = new_client(context.tracking_uri)
    experiment_id = get_or_create_experiment(client, context.experiment)
    plans = [plan(client, experiment_id, c, x) for c, x in members]
    todo = [p.replicas[i] for p in plans for i in p.todo]
    experiment.load(cfg, todo)  # only what trains reads its data
    # a user's file: which features, rows and classes it trained on, said before training
    summary = todo[0].data.summary() if todo else None
    if summary:
        print(f"{context.head()}: {summary}" if context.multirun else summary, flush=True)

    with contextlib.ExitStack() as stack:
        claimed = [claim(client, experiment_id, p, summary, stack) for p in plans]
        trained = [p.replicas[i] for p, (kept, _, _) in zip(plans, claimed, strict=True)
                   for i in kept]
        loggers = [lg for _, kept_loggers, _ in claimed for lg in kept_loggers]
        curves = Curves(loggers, cfg.epochs, cfg.log_every)
        if trained:
            # experiment.train draws a 2-D replica's decision boundary at these epochs too
            drawn = snapshots.log_spaced_epochs(cfg.epochs) if trained[0].data.is_2d else ()
            with progress_bar(cfg.epochs, not context.multirun, context.head(),
                              (drawn, curves.probed)) as bar:
                def on_epoch(epoch, record, active):
                    interrupts.raise_lost()  # Ctrl-C a finalizer dropped stops training here
                    curves(epoch, record, active)
                    bar.update()

                # the training dynamics are computed at every other epoch the curves are logged at
                experiment.train(cfg, trained, on_epoch=on_epoch, probe=curves.probed.__contains__)
        for r, (replica, logger) in enumerate(zip(trained, loggers, strict=True)):
            curves.finish(r, replica.history, replica.diverged_epoch)
            try:
                record(logger, replica.cfg, replica, model=not context.multirun)
            except Exception as error:  # noqa: BLE001 - this replica's run says why
                logger.fail(error)
    return [Outcome(p.replicas, p.hashes, kept, kept_loggers, p.skipped, p.done, elsewhere)
            for p, (kept, kept_loggers, elsewhere) in zip(plans, claimed, strict=True)]


class Progress:
    """Epoch progress where no bar can show (a log, a pipe, a sweep's job): once a job has
    trained for a few seconds, one line with its measured pace and how long it will take in all,
    if that is long; then a line every `every` seconds. Nothing for a job that ends soon.

    `marked` are sets of epochs that do more than train (a 2-D run draws its decision boundary
    at ~16 log-spaced epochs, the training dynamics are measured at others, most of them early):
    each kind of epoch is timed apart, so that a wide network's first epochs do not make hours of
    an estimate of minutes."""

    FIRST = 5.0  # seconds before the pace is measured (and a short job says nothing)
    LONG = 30.0  # a job projected to last longer than this is announced

    def __init__(self, epochs, head, every=60.0, clock=time.monotonic, out=None, marked=()):
        self.epochs, self.head, self.every, self.clock = epochs, head, every, clock
        self.out = out
        self.marked = [frozenset(e for e in epochs_ if 1 <= e <= epochs) for epochs_ in marked]
        special = set().union(*self.marked)
        self.total = {self.kind(0): epochs - len(special)}  # epochs of each kind in the job
        for epoch in special:
            self.total[self.kind(epoch)] = self.total.get(self.kind(epoch), 0) + 1
        self.seen = dict.fromkeys(self.total, 0)  # epochs run, of each kind
        self.spent = dict.fromkeys(self.total, 0.0)  # seconds they took
        self.start = self.last = clock()
        self.done = 0
        self.next = self.start + self.FIRST
        self.said = False  # a line was printed
        self.unknown = False  # the last line could not say how long the rest takes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def kind(self, epoch):
        """Which of the marked sets the epoch is in."""
        return tuple(epoch in epochs for epochs in self.marked)

    def update(self, n=1):
        now = self.clock()
        for epoch in range(self.done + 1, self.done + n + 1):
            kind = self.kind(epoch)
            self.seen[kind] += 1
            self.spent[kind] += (now - self.last) / n
        self.done += n
        self.last = now
        if self.done >= self.epochs or (now < self.next and not self.unknown):
            return
        elapsed, left = now - self.start, self.left()
        if left is not None and not self.said and elapsed + left < self.LONG:
            self.next = float("inf")  # a short job: nothing to say
            return
        if left is None and (self.unknown or elapsed < self.LONG):
            return  # measured at a later epoch
        self.next, self.said, self.unknown = now + self.every, True, left is None
        import sys

        rest = "the time left is measured next" if left is None else f"about {_duration(left)} left"
        print(f"{self.head}: epoch {self.done} of {self.epochs} after {_duration(elapsed)}, {rest}",
              file=self.out or sys.stderr, flush=True)

    def left(self):
        """Seconds the epochs not yet run will take at the pace of their kind, or None while a
        kind still to come has not been timed."""
        left = 0.0
        for kind, total in self.total.items():
            if total > self.seen[kind]:
                if not self.seen[kind]:
                    return None
                left += self.spent[kind] / self.seen[kind] * (total - self.seen[kind])
        return left


def _duration(seconds):
    """'45 s', '7 min', '2.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def normalised_tag(notes):
    """The `normalised` tag: 'width, activation: no hidden layer at depth 0; …' (keys grouped by
    why they cannot matter)."""
    by_reason = {}
    for key, why in notes.items():
        by_reason.setdefault(why, []).append(key)
    return "; ".join(f"{', '.join(keys)}: {why}" for why, keys in by_reason.items())


def progress_bar(epochs, show, head="job", marked=()):
    """An epoch progress bar on a terminal for a single run, shown once it has lasted a second
    (tqdm); elsewhere (a log, a pipe, a sweep's jobs) Progress's lines.

    tqdm is not even created when not shown: it makes a multiprocessing lock (a named semaphore)
    the first time, and a worker killed mid-job leaves it behind, which Python's resource tracker
    then reports in two lines of warning at the end of the sweep."""
    import sys

    if not (show and sys.stderr.isatty()):
        return Progress(epochs, head, marked=marked)
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", delay=1.0, leave=False)


def report(cfg, context, outcome):
    """Print the job's line(s), write results.yaml; returns the mean validation accuracy."""
    replicas, todo, skipped, done = outcome.replicas, outcome.trained, outcome.skipped, outcome.done
    hashes, loggers = outcome.hashes, outcome.loggers
    head = context.head()
    values = {i: {k: math.nan for k in ("train", "val", "test")} for i in range(len(replicas))}
    for i in skipped:
        run = done[hashes[i][0]]
        values[i] = {k: run.data.metrics.get(f"{k}_accuracy", math.nan)
                     for k in ("train", "val", "test")}
    for i, logger in zip(todo, loggers, strict=True):
        replica = replicas[i]
        values[i] = {k: replica.metrics.get(f"{k}_accuracy", math.nan)
                     for k in ("train", "val", "test")}
        if logger.status != "FINISHED" and not replica.diverged:
            values[i] = {k: math.nan for k in ("train", "val", "test")}
    failed = [(i, lg) for i, lg in zip(todo, loggers, strict=True) if lg.status == "FAILED"
              and not replicas[i].diverged]
    diverged = [replicas[i] for i in todo if replicas[i].diverged]
    seconds = sum(replicas[i].metrics.get("train_time_s", 0.0) for i in todo)
    elsewhere = outcome.elsewhere
    if len(replicas) == 1:
        i = 0
        if i in elsewhere:
            line = f"{head}: being trained by run {elsewhere[i]} (another process), skipped"
        elif i in skipped:
            line = (f"{head}: already FINISHED as run {done[hashes[0][0]].info.run_id}, skipped "
                    "(+force=true reruns)")
        elif failed:
            line = f"{head}: FAILED {failed[0][1].failure_line()}"
        elif diverged:
            line = f"{head}: DIVERGED: {diverged[0].diverged_reason}  ({seconds:.2f} s)"
        else:
            line = (f"{head}: " + "  ".join(f"{k} {values[0][k]:.3f}" for k in ("train", "val",
                                                                               "test"))
                    + f"  ({seconds:.2f} s)")
    else:
        val = np.array([values[i]["val"] for i in range(len(replicas))])
        test = np.array([values[i]["test"] for i in range(len(replicas))])
        ok = np.isfinite(val)
        stats = (f"val {_mean_std(val[ok])}  test {_mean_std(test[ok])}  "
                 f"({ok.sum()} of {len(replicas)} seeds") + ")"
        extra = [f"{len(skipped)} skipped (finished before)"] if skipped else []
        extra += [f"{len(elsewhere)} being trained by another process"] if elsewhere else []
        extra += [f"{len(diverged)} diverged"] if diverged else []
        if failed:  # one reason shown: one saying a run is left RUNNING, if any is
            shown = next((lg for _, lg in failed if lg.unended), failed[0][1])
            extra += [f"{len(failed)} FAILED: {shown.failure_line()}"]
        line = f"{head} ({len(replicas)} seeds): {stats}" + (
            f"  [{'; '.join(extra)}]" if extra else "") + f"  ({seconds:.2f} s)"
    print(line + context.eta(), flush=True)
    if context.output_dir is not None:
        save_results(context.output_dir, replicas, todo, values)
    if not context.multirun and loggers:
        print(where_it_is(context, loggers[0].run_id), flush=True)
    if failed and not context.multirun:
        raise SystemExit(1)  # the line above says why
    finite = [values[i]["val"] for i in values if math.isfinite(values[i]["val"])]
    return float(np.mean(finite)) if finite else math.nan


def where_it_is(context, run_id):
    """Where a single run went, and how to get its plots out of the store."""
    import sys

    mlflow = Path(sys.executable).with_name("mlflow")
    return (f"run {run_id} in experiment '{context.experiment}' ({context.tracking_uri}); its "
            f"plots: MLFLOW_TRACKING_URI={context.tracking_uri} {mlflow} artifacts download "
            f"-r {run_id} -a plots -d plots-{run_id[:8]}")


def _mean_std(values):
    if len(values) == 0:
        return "—"
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.3f} ± {std:.3f} sd"


def save_results(folder, replicas, trained, values):
    """Write results.yaml (each seed's figures) and, for a single replica, weights.npz."""
    from netlab.nn import save_weights

    rows = []
    for i, replica in enumerate(replicas):
        row = {"seed": replica.seed, "data_seed": replica.data_seed,
               "init_seed": replica.init_seed, "trained": i in trained,
               "diverged": replica.diverged, "diverged_epoch": replica.diverged_epoch,
               "diverged_reason": replica.diverged_reason}
        row.update({f"{k}_accuracy": values[i][k] for k in ("train", "val", "test")})
        row.update({k: v for k, v in replica.metrics.items() if isinstance(v, int | float)})
        rows.append(row)
    result = rows[0] if len(rows) == 1 else {"replicas": rows}
    OmegaConf.save(OmegaConf.create(result), Path(folder) / "results.yaml")
    if len(replicas) == 1 and 0 in trained and replicas[0].network is not None \
            and not replicas[0].diverged:
        save_weights(replicas[0].network, Path(folder) / "weights.npz")
