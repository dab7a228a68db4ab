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
from netlab.snapshots import log_spaced_epochs
from tests.test_tracking import ROOT


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(epochs, seconds_per_epoch, every=60.0, marked=()):
    """The lines Progress prints for a job of `epochs` epochs at a steady pace; `marked` pairs
    (epochs, their extra seconds each) of epochs that do more than train."""
    clock, out = Clock(), io.StringIO()
    progress = Progress(epochs, "#0 width=100000", every=every, clock=clock, out=out,
                        marked=[epochs_ for epochs_, _ in marked])
    with progress as bar:
        for epoch in range(1, epochs + 1):
            clock.now += seconds_per_epoch + sum(extra for epochs_, extra in marked
                                                 if epoch in epochs_)
            bar.update()
    return out.getvalue().splitlines()


def test_a_long_job_announces_its_length_then_reports_every_minute():
    lines = run(epochs=900, seconds_per_epoch=0.5)  # 7.5 minutes
    assert lines[0] == "#0 width=100000: epoch 10 of 900 after 5 s, about 7 min left"
    assert len(lines) == 1 + (450 - 5) // 60  # then one line a minute until it ends
    assert lines[-1].startswith("#0 width=100000: epoch 850 of 900 after 7 min, about 25 s left")


def test_epochs_that_do_more_than_train_are_timed_apart():
    """A wide 2-D network: its 16 boundary epochs take 25 s more each, its 10 epochs of training
    dynamics 2 s more, most of them first; an epoch of training alone 0.3 s (12 min in all).
    Timed together, the first epochs' pace made hours of it (a real run's first line said
    14.7 h); each kind is timed apart, and the estimate waits for an epoch of each."""
    drawn, probed = log_spaced_epochs(1000), log_spaced_epochs(1000)[1::2] + [7, 12]
    assert len(drawn) == 16 and drawn[:4] == [1, 2, 3, 4]
    lines = run(epochs=1000, seconds_per_epoch=0.3, marked=[(drawn, 25.0), (probed, 2.0)])
    assert lines[0] == "#0 width=100000: epoch 2 of 1000 after 53 s, the time left is measured next"
    # epoch 7 is the first probed epoch without a boundary: then every kind has been timed;
    # 133.1 s spent, 720 − 133.1 = 586.9 s left, the truth
    assert lines[1] == "#0 width=100000: epoch 7 of 1000 after 2 min, about 10 min left"
    assert lines[-1] == "#0 width=100000: epoch 917 of 1000 after 11 min, about 52 s left"


def test_a_short_job_says_nothing():
    assert run(epochs=1000, seconds_per_epoch=0.02) == []  # 20 s in all
    assert run(epochs=100, seconds_per_epoch=0.01) == []  # over before the pace is measured


@pytest.mark.slow
def test_a_single_run_in_a_pipe_announces_itself_on_stderr(tracking_uri, tmp_path):
    """A real run of hours (a wide network), its output piped: within seconds it says how long
    it will take, and no progress bar (that is for a terminal); then Ctrl-C ends it."""
    job = subprocess.Popen([sys.executable, "-m", "src.run", "width=1000", "depth=2",
                            "epochs=100000", "dataset.n_samples=2000",
                            "hydra.run.dir=" + str(tmp_path / "run")],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = job.stderr.readline()  # blocks until the job prints its first line
        job.send_signal(signal.SIGINT)
        out, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert re.fullmatch(r"width=1000 depth=2 epochs=100000 dataset.n_samples=2000: epoch \d+ of "
                        r"100000 after \d s, about [\d.]+ (min|h) left\n", line), line
    assert "epoch/s" not in out + err and "/100000" not in out + err, out + err
