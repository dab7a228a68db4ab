"""Ctrl-C (SIGINT) and SIGTERM as one exception, Interrupted, raised once; and blocks during which
an interrupt waits (a sweep's close: the parent run must not be left half-closed)."""

import contextlib
import signal
import threading

from netlab.tracking.logger import Interrupted


def is_main_thread():
    """Whether this is the main thread (signal handlers can only be set there)."""
    return threading.current_thread() is threading.main_thread()


def ignore_interrupts():
    """Ignore Ctrl-C and SIGTERM from now on (the tidy-up after the first must not be cut short)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def as_interrupt(signum):
    """The Interrupted that signal signum stands for."""
    return Interrupted("Ctrl-C", 130) if signum == signal.SIGINT else Interrupted("SIGTERM", 143)


def interrupt(signum, frame):
    """The handler of Ctrl-C and SIGTERM: raise Interrupted once; a second signal is ignored, so
    that the tidy-up (runs ending KILLED, the parent's summary) is not cut short."""
    ignore_interrupts()
    raise as_interrupt(signum)


@contextlib.contextmanager
def deferred():
    """Run the block with Ctrl-C and SIGTERM held back; one that came meanwhile is raised (as
    Interrupted) when the block ends. Outside the main thread, the block just runs."""
    if not is_main_thread():
        yield
        return
    caught = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        ignore_interrupts()
        raise as_interrupt(caught[0])
