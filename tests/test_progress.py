"""A long job says so where no progress bar shows (issue 21, item 8): `python -m src.run
width=100000` in a log or a pipe ran 7.5 minutes without a word. Progress measures the pace over
the first seconds and prints how long the job will take, then a line a minute; a short job says
nothing."""

import io
import re
import signal
import subprocess
import sys

import pytest

from netlab.job import Progress
from tests.test_tracking import ROOT


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(epochs, seconds_per_epoch, every=60.0):
    """The lines Progress prints for a job of `epochs` epochs at a steady pace."""
    clock, out = Clock(), io.StringIO()
    progress = Progress(epochs, "#0 width=100000", every=every, clock=clock, out=out)
    with progress as bar:
        for _ in range(epochs):
            clock.now += seconds_per_epoch
            bar.update()
    return out.getvalue().splitlines()


def test_a_long_job_announces_its_length_then_reports_every_minute():
    lines = run(epochs=900, seconds_per_epoch=0.5)  # 7.5 minutes
    assert lines[0] == "#0 width=100000: epoch 10 of 900 after 5 s, about 7 min left"
    assert len(lines) == 1 + (450 - 5) // 60  # then one line a minute until it ends
    assert lines[-1].startswith("#0 width=100000: epoch 850 of 900 after 7 min, about 25 s left")


def test_a_short_job_says_nothing():
    assert run(epochs=1000, seconds_per_epoch=0.02) == []  # 20 s in all
    assert run(epochs=100, seconds_per_epoch=0.01) == []  # over before the pace is measured


@pytest.mark.slow
def test_a_single_run_in_a_pipe_announces_itself_on_stderr(tracking_uri, tmp_path):
    """A real run of hours (a wide network), its output piped: within seconds it says how long
    it will take; then Ctrl-C ends it."""
    job = subprocess.Popen([sys.executable, "-m", "src.run", "width=1000", "depth=2",
                            "epochs=100000", "dataset.n_samples=2000",
                            "hydra.run.dir=" + str(tmp_path / "run")],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = job.stderr.readline()  # blocks until the job prints its first line
        job.send_signal(signal.SIGINT)
        job.wait(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert re.fullmatch(r"width=1000 depth=2 epochs=100000 dataset.n_samples=2000: epoch \d+ of "
                        r"100000 after \d s, about [\d.]+ (min|h) left\n", line), line
