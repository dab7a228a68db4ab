"""A run's plots, the boundary snapshots on disk and the figures' shared style, on real networks."""

import io

import numpy as np
import pytest
from PIL import Image

from netlab import experiment, snapshots
from netlab.figures import raster, run_plots, style
from tests.logged_runs import config


def train_job(cfg):
    """Train cfg's network in process: its replica's boundaries, network, data, curves."""
    (replica,) = experiment.train(cfg, experiment.prepare(cfg, [cfg.seed]))
    return {"boundaries": replica.boundaries, "network": replica.network, "data": replica.data,
            "epochs_run": replica.metrics["epochs_run"], "history": replica.history}

ORANGE, BLUE = style.rgb(style.CLASS_COLORS[0]), style.rgb(style.CLASS_COLORS[1])


@pytest.fixture(scope="module")
def trained():
    """A network trained on moons (depth 2, tanh), with its boundary snapshots."""
    cfg = config("dataset=moons", "dataset.n_samples=200", "epochs=300", "depth=2", "width=5",
                 "activation=tanh")
    return train_job(cfg)


def colours(image):
    """The distinct RGB colours of a PIL image."""
    return np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)


def near(pixel, colour, tolerance=60):
    """Whether a pixel's colour lies toward colour (from white) more than toward anything else."""
    pixel = np.asarray(pixel, float)
    return np.abs(pixel - np.asarray(colour)).sum() < np.abs(pixel - 255).sum() + tolerance


def test_decision_boundary_colours_each_side_by_its_class(trained):
    snap, network = trained["boundaries"], trained["network"]
    frame = snap.at_end(network, trained["epochs_run"])
    data = trained["data"]
    image = run_plots.decision_boundary(snap.x0, snap.x1, frame, data.X_train, data.y_train,
                                        "moons · tanh")
    assert image.size == (400, 426) and len(colours(image)) > 20
    plane = np.asarray(image.convert("RGB"))[26:, :]
    p = frame[0]
    sure1, sure0 = np.unravel_index(p.argmax(), p.shape), np.unravel_index(p.argmin(), p.shape)
    for (row, col), colour in ((sure1, BLUE), (sure0, ORANGE)):
        y = int((len(snap.x1) - 1 - row) / (len(snap.x1) - 1) * 399)
        x = int(col / (len(snap.x0) - 1) * 399)
        patch = plane[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4].reshape(-1, 3).mean(axis=0)
        assert near(patch, colour), (patch, colour)


def test_at_end_reuses_the_last_recorded_frame_or_evaluates_now(trained):
    snap, network = trained["boundaries"], trained["network"]
    assert snap.at_end(network, snap.epochs[-1]) is snap.frames[-1]
    fresh = snap.at_end(network, snap.epochs[-1] + 1)
    assert fresh is not snap.frames[-1] and np.allclose(fresh, snap.frames[-1])


def test_learning_curves_hidden_units_and_confusion_matrix(trained):
    history = {k: getattr(trained["history"], k)
               for k in ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")}
    curves = run_plots.learning_curves(history, "moons · tanh")
    assert curves.size == (820, 330) and len(colours(curves)) > 20
    data, network = trained["data"], trained["network"]
    tiles = run_plots.hidden_units(network, data.X_train, data.y_train, "moons · tanh · 2×5")
    assert tiles.height > 300 and tiles.width >= 62 + 5 * 102
    matrix = run_plots.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 1], title="test")
    assert matrix.width > 100 and len(colours(matrix)) > 5
    one_layer = config("dataset=moons", "depth=0", "epochs=5", "dataset.n_samples=100")
    assert run_plots.hidden_units(train_job(one_layer)["network"], data.X_train) is None


def test_a_confusion_matrix_of_many_classes_is_an_image_of_bounded_size():
    # k² cells of at least 28 px each, drawn one by one: 1,000 classes would have made a
    # 28,000-px square (~9 GB supersampled); beyond a few dozen classes the shares are a heatmap
    k = 200
    y = np.arange(3 * k) % k
    matrix = run_plots.confusion_matrix(y, y, labels=np.arange(k), title="many")
    assert max(matrix.size) <= 1000
    pixels = np.asarray(matrix.convert("RGB")).reshape(-1, 3)
    blue = np.all(pixels == style.rgb("#0072B2"), axis=1)  # a share of 1: every row's diagonal
    side = matrix.width - 82  # the matrix's, between the labels' margin and the right one
    assert 0.5 * side**2 / k < blue.sum() < 2 * side**2 / k
    small = run_plots.confusion_matrix(y[:30] % 3, y[:30] % 3, labels=np.arange(3))
    assert small.size == (70 + 3 * 70 + 12, 10 + 3 * 70 + 52)  # few classes: numbered cells


def test_hidden_activations_are_the_network_s_own(trained):
    network = trained["network"]
    points = trained["data"].X_val[:7]
    layers = run_plots.hidden_activations(network, points)
    assert [a.shape for a in layers] == [(5, 7), (5, 7)]
    A = points.T
    for l in (1, 2):
        A = np.tanh(network.W[l][0] @ A + network.b[l][0])
        assert np.allclose(layers[l - 1], A)
    out = network.predict_proba(points.T[None])[0]
    assert np.allclose(out, 1 / (1 + np.exp(-(network.W[3][0] @ A + network.b[3][0]))))


def test_snapshots_are_small_on_disk_and_load_back(trained, tmp_path):
    snap = trained["boundaries"]
    frames = np.stack(snap.frames)
    frames[3] = np.nan  # a frame the network diverged in
    path = tmp_path / snapshots.FILENAME
    snapshots.save(path, snap.epochs, snap.x0, snap.x1, frames, snap.X, snap.y)
    assert path.stat().st_size < 30_000  # ~340 KB as float32
    back = snapshots.load(path)
    assert back["proba"].dtype == np.float32 and back["proba"].shape == frames.shape
    finite = [i for i in range(len(frames)) if i != 3]
    error = np.abs(back["proba"][finite] - frames[finite]).max()
    assert error <= 0.5 / snapshots.LEVELS + 1e-6
    assert np.isnan(back["proba"][3]).all()
    assert list(back["epochs"]) == snap.epochs and np.array_equal(back["y"], snap.y)
    old = tmp_path / "old.npz"  # written as before: float probabilities
    np.savez_compressed(old, epochs=np.array(snap.epochs), x0=snap.x0, x1=snap.x1,
                        proba=np.stack(snap.frames), X=snap.X, y=snap.y)
    assert np.array_equal(snapshots.load(old)["proba"], np.stack(snap.frames), equal_nan=True)


def test_snapshots_without_a_frame_save_and_load_back_empty(tmp_path):
    # a run that diverged before its first snapshot recorded none: that is still a recording
    X = np.random.default_rng(0).normal(size=(30, 2))
    for n_classes in (2, 3):
        snap = snapshots.BoundarySnapshots(X, [1, 10], y=np.arange(30) % n_classes)
        snap.save(tmp_path / "none.npz")
        back = snapshots.load(tmp_path / "none.npz")
        assert back["epochs"].shape == (0,) and back["proba"].shape[0] == 0
        assert np.array_equal(back["y"], snap.y) and back["X"].shape == (30, 2)
        assert run_plots.snapshot_images(back) == []


def test_snapshot_frames_become_small_images_for_the_step_slider(trained, tmp_path):
    snap = trained["boundaries"]
    snap.save(tmp_path / "b.npz")
    frames = run_plots.snapshot_images(snapshots.load(tmp_path / "b.npz"), "moons")
    assert [epoch for epoch, _ in frames] == snap.epochs
    live = run_plots.snapshot_images(snap.as_dict(), "moons")  # from the callback, before saving
    assert [epoch for epoch, _ in live] == snap.epochs
    first, last = (np.asarray(frames[i][1].convert("RGB"), int) for i in (0, -1))
    assert first.shape == last.shape and np.abs(first - last).mean() > 1
    sizes = []
    for _, image in frames:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        sizes.append(len(buffer.getvalue()))
    assert max(sizes) < 8_000
    gif = run_plots.boundary_gif(snapshots.load(tmp_path / "b.npz"), tmp_path / "b.gif", "moons")
    with Image.open(gif) as image:
        assert image.n_frames == len(frames)


def many_classes(k, frames=3, r=12, m=400, seed=0):
    """A snapshots dict of k classes: random softmax frames (frames, k, r, r), points X, y."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(frames, k, r, r)).astype(np.float32)
    proba = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return {"epochs": np.arange(1, frames + 1), "x0": np.linspace(-2, 2, r),
            "x1": np.linspace(-2, 2, r), "proba": proba, "X": rng.uniform(-2, 2, (m, 2)),
            "y": np.arange(m) % k}


def test_a_run_s_plots_of_many_classes_build_the_palette_once_per_size(monkeypatch):
    # a 1,000-class 2-D run spent 80 of its 86 s rebuilding its 1,000-colour palette 40,011 times
    # (4 shades × k classes per frame, each building all k colours): quadratic in the classes
    parsed = []
    rgb = style.rgb
    monkeypatch.setattr(style, "rgb", lambda colour: parsed.append(colour) or rgb(colour))
    snap = many_classes(300)
    assert len(run_plots.snapshot_images(snap, "many")) == 3
    run_plots.decision_boundary(snap["x0"], snap["x1"], snap["proba"][-1], snap["X"], snap["y"])
    assert len(parsed) <= 2 * len(style.CLASS_COLORS)  # the palette of each size, parsed once


@pytest.mark.parametrize("k", [3, 8, 11])
def test_the_plane_of_k_classes_is_shaded_as_classes_rgb_shades_each_class(k):
    # plane_rgb's table of colours (each class at 4 levels of sureness) is classes_rgb's colour
    # of a frame that is that sure of that class
    proba = many_classes(k, frames=1, r=30)["proba"][0]
    t = np.clip(((proba.max(axis=0) - 1 / k) / (1 - 1 / k) * 4).astype(int), 0, 3)
    level = ((t + 0.5) / 4).astype(np.float32)  # the sureness each band is drawn at
    best = proba.argmax(axis=0)
    column = np.eye(k, dtype=np.float32)[:, best] * level + (1 - level) / k  # (k, r, r)
    assert np.array_equal(run_plots.plane_rgb(proba), raster.classes_rgb(column))


def test_the_network_s_tie_rule_decides_a_probability_of_one_half():
    assert snapshots.predicted_class(np.array([[0.5, 0.5000001, 0.4999]])).tolist() == [0, 1, 0]
    three = np.array([[0.2, 0.5], [0.7, 0.1], [0.1, 0.4]])
    assert snapshots.predicted_class(three).tolist() == [1, 0]


def test_labels_and_axis_scales():
    assert [style.label(v) for v in (4.0, 0.30000000000000004, 8, None, float("nan"), "tanh",
                                      True)] == ["4", "0.3", "8", "—", "—", "tanh", "true"]
    assert style.axis_scale([0.001, 0.01, 0.1, 1]) == ("log", None)
    assert style.axis_scale([0, 0.001, 0.1]) == ("symlog", 0.001)
    assert style.axis_scale([0, 1, 2, 3]) == ("linear", None)
    assert style.axis_scale([1, 2, 4]) == ("linear", None)


def test_figures_are_saved_in_the_format_asked(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        name = style.save(fig, tmp_path, "f", fmt, dpi=50)
        assert name == f"f.{fmt}" and (tmp_path / name).read_bytes().startswith(magic)
    with pytest.raises(ValueError, match="format must be one of"):
        style.save(fig, tmp_path, "f", "jpg")
    image = Image.open(io.BytesIO((tmp_path / "f.png").read_bytes()))
    assert image.size == (320, 240)  # 6.4 × 4.8 inches at 50 dpi
