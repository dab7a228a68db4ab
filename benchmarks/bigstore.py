"""A crowded store for benchmarks/sweep.py: clone an experiment's runs until it holds n more.

Runs are cloned inside the SQLite database with plain SQL (rows of runs, tags, params and latest
metrics, under new run ids and new config and group hashes, so they are other configurations):
logging 10,000 runs through MLflow would take longer than the benchmark. Metric histories and
artifacts are not cloned; the harness's skip check reads neither. A benchmark fixture only: the
harness itself writes through MLflow.
"""

import sqlite3
import uuid
from contextlib import closing


def clone_runs(uri, experiment, n):
    """Add n runs to `experiment` in the SQLite store at uri, cloned from its finished runs."""
    db = uri[len("sqlite:///"):]
    with closing(sqlite3.connect(db)) as con, con:
        (experiment_id,) = con.execute("select experiment_id from experiments where name = ?",
                                       (experiment,)).fetchone()
        sources = [r[0] for r in con.execute(
            "select run_uuid from runs where experiment_id = ? and status = 'FINISHED'",
            (experiment_id,))]
        for i in range(n):
            source, new = sources[i % len(sources)], uuid.uuid4().hex
            con.execute(
                "insert into runs select ?, name || ' clone', source_type, source_name, "
                "entry_point_name, user_id, status, start_time - 1000, end_time, source_version, "
                "lifecycle_stage, replace(artifact_uri, ?, ?), experiment_id, deleted_time "
                "from runs where run_uuid = ?", (new, source, new, source))
            con.execute(
                "insert into tags select key, case when key in ('config_hash', 'group_hash') "
                "then ? else value end, ? from tags where run_uuid = ?",
                (uuid.uuid4().hex[:16], new, source))
            con.execute("insert into params select key, value, ? from params where run_uuid = ?",
                        (new, source))
            con.execute("insert into latest_metrics select key, value, timestamp, step, is_nan, ? "
                        "from latest_metrics where run_uuid = ?", (new, source))
    return n
