"""A crowded store for benchmarks/sweep.py: clone an experiment's sweeps until it holds n more runs.

Runs are cloned inside the SQLite database with plain SQL (rows of runs, tags, params and latest
metrics, under new run ids and new config and group hashes, so they are other configurations):
logging 10,000 runs through MLflow would take longer than the benchmark. Each batch of clones is
another sweep: it has a parent run of its own (a clone of the original's, with its own sweep
hash), as the runs of other sweeps of a study would. Metric histories and artifacts are not
cloned; the harness's skip check reads neither. A benchmark fixture only: the harness itself
writes through MLflow.
"""

import sqlite3
import uuid
from contextlib import closing

PARENT = "mlflow.parentRunId"


def _clone(con, source, new, tags, shift_ms):
    """Copy run `source` to run id `new`, shift_ms earlier; tags: {key: new value} replaced."""
    con.execute(
        "insert into runs select ?, name || ' clone', source_type, source_name, "
        "entry_point_name, user_id, status, start_time - ?, end_time - ?, source_version, "
        "lifecycle_stage, replace(artifact_uri, ?, ?), experiment_id, deleted_time "
        "from runs where run_uuid = ?", (new, shift_ms, shift_ms, source, new, source))
    for key, value in con.execute("select key, value from tags where run_uuid = ?",
                                  (source,)).fetchall():
        con.execute("insert into tags values (?, ?, ?)", (key, tags.get(key, value), new))
    con.execute("insert into params select key, value, ? from params where run_uuid = ?",
                (new, source))
    con.execute("insert into latest_metrics select key, value, timestamp, step, is_nan, ? "
                "from latest_metrics where run_uuid = ?", (new, source))


def clone_runs(uri, experiment, n):
    """Add n runs to `experiment` in the SQLite store at uri, cloned from its finished runs a
    sweep at a time (each batch of a sweep's runs under a clone of their parent run)."""
    db = uri[len("sqlite:///"):]
    with closing(sqlite3.connect(db)) as con, con:
        (experiment_id,) = con.execute("select experiment_id from experiments where name = ?",
                                       (experiment,)).fetchone()
        sources = con.execute(
            "select r.run_uuid, t.value from runs r left join tags t on t.run_uuid = r.run_uuid "
            "and t.key = ? where r.experiment_id = ? and r.status = 'FINISHED' and r.run_uuid "
            "not in (select run_uuid from tags where key = 'netlab.role' and value = 'sweep')",
            (PARENT, experiment_id)).fetchall()
        first, last = con.execute("select min(start_time), max(coalesce(end_time, start_time)) "
                                  "from runs where experiment_id = ?", (experiment_id,)).fetchone()
        span = last - first + 1000  # ms: a cloned sweep ends a second before the next begins
        parents = {}
        for i in range(n):
            source, parent = sources[i % len(sources)]
            shift = (i // len(sources) + 1) * span
            if i % len(sources) == 0:  # a new sweep begins
                parents = {}
            if parent is not None and parent not in parents:
                parents[parent] = uuid.uuid4().hex
                _clone(con, parent, parents[parent], {"sweep_hash": uuid.uuid4().hex[:16]}, shift)
            _clone(con, source, uuid.uuid4().hex,
                   {"config_hash": uuid.uuid4().hex[:16], "group_hash": uuid.uuid4().hex[:16],
                    PARENT: parents.get(parent)}, shift)
    return n
