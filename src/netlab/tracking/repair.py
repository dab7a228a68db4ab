"""`python -m netlab.tracking.repair STORE.db`: finish the schema migration an interrupt cut short
in a SQLite store that holds runs (open_store names the store and this command).

MLflow migrates a schema in steps whose DDL commits on its own, while the schema version is written
only after each step: a step cut short leaves what it had made (a table, an index, a column, a copy
`_alembic_tmp_<table>`) under the version before it, and `mlflow db upgrade` then fails on it
("table … already exists"). This takes a copy of the store first (`<store>.before-repair-<time>`),
then undoes each half-made thing MLflow's upgrade stops on, if doing so loses nothing (an empty
table, a copy whose original is there, an index, a column that step adds), and runs
`mlflow db upgrade` again, until it succeeds. Anything else stops it, saying what, the copy kept.
"""

import argparse
import os
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path

STEPS = 100  # far more half-made things than one cut-short migration step leaves


class CannotRepair(RuntimeError):
    """What stops the repair, in one line."""


def half_made(error):
    """What a failing upgrade stopped on: ('table', name), ('index', name), ('column', table,
    name); CannotRepair for any other error."""
    text = str(error)
    for kind in ("table", "index"):
        found = re.search(rf"{kind} (\S+) already exists", text)
        if found:
            return kind, found.group(1).strip("\"'`")
    column = re.search(r"duplicate column name: (\S+)", text)
    table = re.search(r"ALTER TABLE (\S+) ADD COLUMN", text)
    if column and table:
        return "column", table.group(1).strip("\"'`"), column.group(1)
    raise CannotRepair(text.strip().splitlines()[0] if text.strip() else type(error).__name__)


def undo(connection, thing):
    """Remove a half-made thing if it is there and removing it loses nothing."""
    tables = {name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if thing[0] == "table" and thing[1] in tables:
        table = thing[1]
        original = table.removeprefix("_alembic_tmp_")
        if table != original and original not in tables:
            raise CannotRepair(f"{table} holds {original}'s rows (its original is gone)")
        if table == original and connection.execute(
                f'SELECT count(*) FROM "{table}"').fetchone()[0]:
            raise CannotRepair(f"table {table} is already there and holds rows")
        connection.execute(f'DROP TABLE "{table}"')
    elif thing[0] == "index":
        connection.execute(f'DROP INDEX IF EXISTS "{thing[1]}"')
    elif thing[0] == "column" and thing[1] in tables and thing[2] in {
            row[1] for row in connection.execute(f'PRAGMA table_info("{thing[1]}")')}:
        connection.execute(f'ALTER TABLE "{thing[1]}" DROP COLUMN "{thing[2]}"')


def repair(db):
    """Repair the SQLite store db in place (a copy of it kept); returns (the copy, undone)."""
    from mlflow.cli import cli

    from .store import quiet_store_logs

    db = Path(db)
    if not db.is_file():
        raise CannotRepair(f"{db} is not a file")
    copy = db.with_name(f"{db.name}.before-repair-{time.strftime('%Y%m%d-%H%M%S')}")
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    quiet_store_logs()
    os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = "NullPool"  # no connection kept between tries
    undone = []
    for _ in range(STEPS):
        try:  # `mlflow db upgrade`, MLflow's own command, in this process
            cli.main(["db", "upgrade", f"sqlite:///{db}"], standalone_mode=False)
            return copy, undone
        except Exception as error:  # noqa: BLE001 - half_made says which failures it can undo
            thing = half_made(error)
        if thing not in undone:
            undone.append(thing)
        # the failed try made again what an earlier one undid: undo all of it each time
        with closing(sqlite3.connect(db)) as connection, connection:
            for made in undone:
                undo(connection, made)
    raise CannotRepair(f"still failing after undoing {len(undone)} things")


def main(argv=None):
    """Repair the store, saying in one line what was done or what stops it."""
    parser = argparse.ArgumentParser(prog="python -m netlab.tracking.repair",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("store", help="the SQLite file of the store (or its sqlite:/// URI)")
    args = parser.parse_args(argv)
    db = Path(args.store.removeprefix("sqlite:///"))
    try:
        copy, undone = repair(db)
    except (CannotRepair, sqlite3.Error, OSError) as error:
        raise SystemExit(f"cannot repair {db}: {error}") from None
    names = ", ".join(" ".join(thing[:1]) + " " + ".".join(thing[1:]) for thing in undone)
    print(f"repaired {db}: undid {names or 'nothing'} and finished the migration; the store as "
          f"it was: {copy}")


if __name__ == "__main__":
    main()
