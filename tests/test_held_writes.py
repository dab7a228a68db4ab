"""netlab.interrupts in process: a signal that arrives during a store write waits for the write
to end, but not for ever (a tracking server that stopped answering): after HOLD_SECONDS it is
raised inside the write, so the runs can still be ended KILLED before a scheduler's SIGKILL."""

import os
import signal
import time

import pytest

from netlab import interrupts
from netlab.hydra_glue.signals import interrupt


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
