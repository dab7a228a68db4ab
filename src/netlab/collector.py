"""Python's garbage collector around imports: paused while a process imports, then what it holds
frozen out of later collections.

A netlab process imports Hydra, MLflow, scikit-learn, pandas or matplotlib: ~10^6 objects that
live as long as the process. CPython's collector rescans every one of them at each full
collection, and importing them triggers many (~1 s of a sweep's start on a 2-core machine), as do
the ORM objects of a runs search (a tracking server's search of 100 runs took twice as long). So
the collector is paused while they are made, and what is alive then is frozen (gc.freeze: left out
of every later collection); collection goes on as usual for everything made after.

A freeze keeps everything alive at that moment until the process exits, not only what imports
made: in a sweep's launching process that includes the checked configs of the jobs not launched
yet (src/netlab/hydra_glue.py keeps them from the check to the launch), so their memory is not given back
as they run; it was in use at the check anyway. At exit the frozen objects are given back to the
collector (below).
"""

import atexit
import contextlib
import gc


@contextlib.contextmanager
def paused():
    """Run the block with the garbage collector off, then freeze what is alive and resume it
    (unless it was already off: an enclosing pause resumes it)."""
    was_on = gc.isenabled()
    try:
        gc.disable()
        yield
    finally:
        if was_on:
            resume()


def resume():
    """If the collector is paused: freeze what is alive (left out of later collections) and turn
    it back on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
        if not _UNFREEZE_AT_EXIT:
            atexit.register(gc.unfreeze)
            _UNFREEZE_AT_EXIT.append(True)


# At exit, frozen objects are given back to the collector: the last collection, as the interpreter
# shuts down, is what closes a SQLite store's pooled connections (they sit in reference cycles), and
# the last connection to close checkpoints the store's write-ahead log into it and deletes the log.
_UNFREEZE_AT_EXIT = []
