"""netlab.interrupts in process: a signal that arrives during a store write waits for the write
to end, but not for ever (a tracking server that stopped answering): after HOLD_SECONDS it is
raised inside the write, so the runs can still be ended KILLED before a scheduler's SIGKILL."""

import os
import signal
import subprocess
import sys
import time

import pytest

from netlab import interrupts
from netlab.hydra_glue.signals import interrupt
from netlab.paths import PROJECT_ROOT


@pytest.fixture
def handler(monkeypatch):
    """netlab's SIGTERM handler installed for the test (and the previous ones put back)."""
    before = signal.signal(signal.SIGTERM, interrupt), signal.getsignal(signal.SIGALRM)
    monkeypatch.setattr(interrupts, "HOLD_SECONDS", 0.5)
    yield
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGALRM, before[1])
    signal.setitimer(signal.ITIMER_REAL, 0)


def test_a_signal_during_a_write_is_raised_when_the_write_ends(handler):
    steps = []
    with pytest.raises(interrupts.Interrupted) as raised:
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            steps.append("the write went on")
    assert steps == ["the write went on"] and raised.value.exit_code == 143
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left to go off


def test_a_write_that_never_ends_is_interrupted_after_the_hold(handler):
    started = time.monotonic()
    with pytest.raises(interrupts.Interrupted):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # a request no server answers
    assert time.monotonic() - started < 5


FINALIZER = """
import signal, sys
from netlab.hydra_glue.signals import install
from netlab.interrupts import Interrupted, held
install()

class Freed:
    def __del__(self):  # as SQLAlchemy's weakref callbacks run while the collector frees
        signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives while a finalizer runs
        sum(range(1000))  # its handler runs here, inside the finalizer

Freed()
print("went on", flush=True)
if sys.argv[1] == "write":
    try:
        with held():  # the next store write
            print("wrote", flush=True)
    except Interrupted as error:
        print("raised", error.signal_name, flush=True)
"""


@pytest.mark.parametrize("then", ["write", "exit"])
def test_an_interrupt_raised_inside_a_finalizer_is_not_dropped(then):
    """Ctrl-C whose handler ran inside a finalizer (Python prints 'Exception ignored in' and drops
    what it raised: a Ctrl-C test once saw the sweep go on and finish): nothing is printed, and the
    interrupt is raised at the next store write, or ends the command with its status."""
    done = subprocess.run([sys.executable, "-c", FINALIZER, then], capture_output=True,
                          text=True, timeout=60, cwd=PROJECT_ROOT)
    if then == "write":
        assert (done.returncode, done.stdout, done.stderr) == (0, "went on\nraised Ctrl-C\n", "")
    else:
        assert (done.returncode, done.stdout) == (130, "went on\n"), done.stderr
        assert done.stderr == ("interrupted by Ctrl-C as the command was exiting (what it ran "
                               "had ended)\n")
