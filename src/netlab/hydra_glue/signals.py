"""Ctrl-C (SIGINT) and SIGTERM as one exception, Interrupted, raised once, and never inside a store
write (netlab.interrupts holds it until the write is whole); blocks during which an interrupt waits
(a sweep's close: the parent run must not be left half-closed); and the signal that comes once the
command has ended (Hydra and the launchers tidying up): one line and its exit status, no traceback.
"""

import atexit
import os
import signal
import sys
import threading

from netlab.interrupts import as_interrupt, catch_lost, held, hold, lost, wake_main_thread


def is_main_thread():
    """Whether this is the main thread (signal handlers can only be set there)."""
    return threading.current_thread() is threading.main_thread()


def ignore_interrupts():
    """Ignore Ctrl-C and SIGTERM from now on (the tidy-up after the first must not be cut short)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def interrupt(signum, frame):
    """The handler of Ctrl-C and SIGTERM: raise Interrupted once (inside a store write, when the
    write ends); a second signal is ignored, so that the tidy-up (runs ending KILLED, the parent's
    summary) is not cut short."""
    ignore_interrupts()
    if not hold(signum):
        raise as_interrupt(signum)


def deferred():
    """A block with Ctrl-C and SIGTERM held back: one that came meanwhile is raised (as
    Interrupted) when the block ends."""
    return held()


def after_the_end():
    """From now on (the command's work has ended: Hydra, joblib's workers and the interpreter tidy
    up), Ctrl-C or SIGTERM only says so in one line and sets the exit status (130 / 143) once the
    tidy-up is over: raised inside it, it would print a traceback and exit 0."""
    if not is_main_thread():
        return

    def note(signum, frame):
        ignore_interrupts()
        _late.append(signum)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)


_late = []  # the signal after_the_end() noted


def _late_exit_status():
    """The last of the exit handlers (registered first): a signal noted after the end (or one a
    finalizer dropped that nothing raised again) ends the process with its status, after every
    other handler has run."""
    error = as_interrupt(_late[0]) if _late else lost()
    if error is not None:
        print(f"interrupted by {error.signal_name} as the command was exiting (what it ran had "
              "ended)", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(error.exit_code)


def install():
    """Ctrl-C and SIGTERM raise Interrupted in the main thread; a signal after the end is said in
    one line (after_the_end)."""
    if is_main_thread():
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        catch_lost()  # one raised inside a finalizer is raised again, not dropped
        wake_main_thread()  # one another thread took interrupts the main thread's blocked call
        atexit.register(_late_exit_status)
