"""Ctrl-C and SIGTERM held back while the tracking store is written: a write is never cut in half.

Python runs a signal's handler between two bytecodes of the main thread, so an interrupt raised
by it can land inside SQLAlchemy's session in the middle of a write: the run being created is left
RUNNING with nobody to end it, or the session is left unusable (`Query-invoked autoflush`), or a
transaction keeps SQLite's write lock (`database is locked`) for the writes that end the runs.
So every store write runs inside `held()`; the handler asks `hold(signum)` first, and a signal
that came meanwhile is raised as Interrupted when the outermost block ends, once the write is whole.

Python also runs a handler inside a finalizer (a `__del__` or a weakref callback, e.g. one of
SQLAlchemy's as the garbage collector frees an engine), where an exception cannot propagate: it
prints "Exception ignored in …" with a traceback and drops it, and the command went on as if no
signal had come. `catch_lost()` installs Python's documented hook for such exceptions
(sys.unraisablehook): an Interrupted dropped there is kept, nothing is printed, and it is raised at
the next point that can take it (`raise_lost()`: every held() block, every epoch).

The kernel hands a process's signal to any of its threads that does not block it (numpy's BLAS
threads do not), and takes another thread when the main thread already has a signal pending (as
`scancel` sends SIGCONT, then SIGTERM). Python then only notes it, for the main thread to handle;
a main thread blocked in a socket read (a tracking server slow to answer) handles nothing until
the read ends, which MLflow's HTTP timeout puts at 120 s, past a scheduler's grace period.
`wake_main_thread()` makes every signal wake the main thread (see there).

A write that does not end (a tracking server that stopped answering mid-request) is not waited on
for ever: HOLD_SECONDS after the signal, it is raised inside the write anyway. A scheduler follows
SIGTERM with SIGKILL after a grace period (SLURM's KillWait: 30 s by default; Kubernetes': 30 s),
and the runs can only be ended KILLED before that.

Neutral: knows neither Hydra nor MLflow. netlab.tracking marks its writes; netlab.hydra_glue.signals
installs the handler that asks.
"""

import contextlib
import os
import signal
import sys
import threading

_held = {"depth": 0, "signum": None}  # the main thread's blocks, and the signal they hold
_lost = []  # an Interrupted a finalizer dropped, to raise again
WAKE = getattr(signal, "SIGRTMIN", None)  # wake_main_thread's signal (Linux; None elsewhere)
_wake = {"pid": None}  # the process whose thread wakes its main thread
HOLD_SECONDS = 5.0  # the longest a signal waits for a write; a local write takes milliseconds


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (a scheduler preempting the job, `timeout`): ends runs KILLED."""

    def __init__(self, signal_name="SIGTERM", exit_code=143):
        super().__init__(signal_name)
        self.signal_name, self.exit_code = signal_name, exit_code


def as_interrupt(signum):
    """The Interrupted that signal signum stands for (exit status 130 or 143, as a shell says)."""
    return Interrupted("Ctrl-C", 130) if signum == signal.SIGINT else Interrupted("SIGTERM", 143)


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def hold(signum):
    """For a signal handler: whether the signal is held (a held() block is running; it is raised
    when the block ends), else the handler raises it now."""
    if _held["depth"] == 0:
        return False
    if _held["signum"] is None:
        _held["signum"] = signum
        signal.signal(signal.SIGALRM, _overdue)
        signal.setitimer(signal.ITIMER_REAL, HOLD_SECONDS)
    return True


def _overdue(signum, frame):
    """SIGALRM's handler while a signal is held: the write has taken too long; raise it now."""
    held_signum, _held["signum"] = _held["signum"], None
    if held_signum is not None:
        raise as_interrupt(held_signum)


def catch_lost():
    """Keep an Interrupted raised inside a finalizer (Python would print it and drop it) for
    raise_lost(); every other unraisable exception goes to the hook installed before."""
    before = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, Interrupted):
            _lost.append(unraisable.exc_value)
        else:
            before(unraisable)

    sys.unraisablehook = hook


def lost():
    """The interrupt a finalizer dropped that no point has raised again yet, or None."""
    return _lost[-1] if _lost else None


def raise_lost():
    """Raise again, in the main thread outside any held() block, an interrupt a finalizer
    dropped."""
    if _lost and _held["depth"] == 0 and _main_thread():
        lost = _lost[-1]
        _lost.clear()
        raise Interrupted(lost.signal_name, lost.exit_code)


@contextlib.contextmanager
def held():
    """Run the block (a store write) whole: Ctrl-C or SIGTERM arriving meanwhile is raised as
    Interrupted when it ends (the outermost block, in the main thread, where handlers run). Usable
    as a decorator."""
    if not _main_thread():
        yield
        return
    raise_lost()
    _held["depth"] += 1
    try:
        yield
    finally:
        _held["depth"] -= 1
        if _held["depth"] == 0 and _held["signum"] is not None:
            signum, _held["signum"] = _held["signum"], None
            signal.setitimer(signal.ITIMER_REAL, 0)  # the write ended in time
            raise as_interrupt(signum)
        raise_lost()


def _woken(signum, frame):
    """WAKE's handler: nothing. The signal only makes the main thread's blocked call return."""


def wake_main_thread():
    """Make a signal that another thread took wake the main thread, so that its handler runs now.

    Python writes the number of every signal it catches to its wakeup fd (signal.set_wakeup_fd);
    a thread of ours reads them and sends the main thread WAKE (signal.pthread_kill), whose handler
    does nothing: the main thread's blocked call returns (EINTR) and Python runs the handlers
    pending, then retries the call if none raised. A signal the main thread took itself only wakes
    it twice. Once per process, from the main thread; nothing where another wakeup fd is set (an
    event loop's), WAKE has a handler already, or does not exist."""
    if WAKE is None or not _main_thread() or _wake["pid"] == os.getpid():
        return
    if signal.getsignal(WAKE) != signal.SIG_DFL:  # another library's (None: one not of Python)
        return
    read, write = os.pipe()
    os.set_blocking(write, False)  # a signal handler must never block on a full pipe
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    if previous != -1:  # someone else's: left as it was
        signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
        return
    signal.signal(WAKE, _woken)
    main = threading.main_thread().ident

    def watch():
        while data := os.read(read, 64):  # (b"": the pipe closed, nothing more to wake for)
            for signum in data:
                if signum != WAKE:
                    try:
                        signal.pthread_kill(main, WAKE)
                    except OSError:  # the main thread has ended: the process is exiting
                        return

    threading.Thread(target=watch, name="netlab-wake-main-thread", daemon=True).start()
    _wake["pid"] = os.getpid()
