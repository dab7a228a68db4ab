"""Drawing small images straight with Pillow: fonts, ticks, a line chart's axes, colour maps.

A run's plots are drawn for every job, so they skip matplotlib, whose general layout and rendering
machinery is more than a small fixed image needs. Everything is drawn at SUPERSAMPLE times the size
and reduced, which smooths lines and text. The font is matplotlib's own DejaVu Sans (found on disk,
matplotlib is not imported), so run plots and report figures share their typography.
"""

import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .style import class_rgb

SUPERSAMPLE = 2
INK, GRID, FAINT = (40, 40, 40), (225, 225, 225), (120, 120, 120)


@functools.cache
def font(size):
    """DejaVu Sans at `size` pixels (Pillow's built-in font if matplotlib's is not on disk)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "mpl-data/fonts/ttf/DejaVuSans.ttf"
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def canvas(width, height):
    """A white RGB image of (width, height) × SUPERSAMPLE pixels and its ImageDraw."""
    image = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), "white")
    return image, ImageDraw.Draw(image)


def finish(image):
    """The supersampled image reduced to its final size."""
    return image.reduce(SUPERSAMPLE)


def text(draw, xy, string, size, anchor="la", fill=INK):
    """Write string at xy (supersampled pixels) in a font of `size` final pixels."""
    draw.text(xy, string, font=font(size * SUPERSAMPLE), fill=fill, anchor=anchor)


def fit(string, size, width):
    """string shortened with '…' until it is at most `width` supersampled pixels wide."""
    face = font(size * SUPERSAMPLE)
    if face.getlength(string) <= width:
        return string
    while string and face.getlength(string + "…") > width:
        string = string[:-1]
    return string + "…"


def nice_ticks(low, high, n=5):
    """About n round tick values covering [low, high] (steps of 1, 2 or 5 × 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def tick_text(value):
    """A tick value as short text."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{value:g}"


def line_chart(draw, box, series, *, xlabel, ylabel, title=None, log_y=False, legend=True):
    """Axes in box (left, top, right, bottom, supersampled pixels) with lines, ticks and labels.

    series: [(label, x, y, colour (r, g, b), width)]; non-finite points are skipped.
    """
    s = SUPERSAMPLE
    left, top, right, bottom = box
    x0, y0, x1, y1 = left + 52 * s, top + (36 if title else 20) * s, right - 16 * s, bottom - 34 * s
    xs = np.concatenate([np.asarray(x, float) for _, x, _, _, _ in series] or [np.zeros(1)])
    ys = np.concatenate([np.asarray(y, float) for _, _, y, _, _ in series] or [np.zeros(1)])
    ys = ys[np.isfinite(ys) & ((ys > 0) if log_y else True)]
    xlo, xhi = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
    ylo, yhi = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 1.0)
    if log_y:
        ylo, yhi = math.log10(ylo), math.log10(yhi)
    if yhi - ylo < 1e-9:
        ylo, yhi = ylo - 0.5, yhi + 0.5
    xhi = xhi if xhi > xlo else xlo + 1
    pad = 0.05 * (yhi - ylo)
    ylo, yhi = ylo - pad, yhi + pad

    def px(x):
        return x0 + (np.asarray(x, float) - xlo) / (xhi - xlo) * (x1 - x0)

    def py(y):
        y = np.log10(np.maximum(np.asarray(y, float), 1e-300)) if log_y else np.asarray(y, float)
        return y1 - (y - ylo) / (yhi - ylo) * (y1 - y0)

    yticks = (range(math.ceil(ylo), math.floor(yhi) + 1) if log_y else nice_ticks(ylo, yhi, 4))
    for value in yticks:
        y = float(py(10.0**value if log_y else value))
        draw.line([(x0, y), (x1, y)], fill=GRID, width=s)
        text(draw, (x0 - 5 * s, y), tick_text(10.0**value if log_y else value), 10, "rm")
    for value in nice_ticks(xlo, xhi, 5):
        x = float(px(value))
        draw.line([(x, y1), (x, y1 + 4 * s)], fill=INK, width=s)
        text(draw, (x, y1 + 6 * s), tick_text(value), 10, "ma")
    draw.rectangle([x0, y0, x1, y1], outline=INK, width=s)
    for _, x, y, colour, width in series:
        x, y = px(x), py(y)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() > 1:
            draw.line(list(zip(x[ok].tolist(), y[ok].tolist(), strict=True)), fill=colour,
                      width=width * s, joint="curve")
    text(draw, ((x0 + x1) / 2, bottom - 2 * s), xlabel, 11, "md")
    text(draw, (left + 2 * s, y0 - 4 * s), ylabel + (" (log)" if log_y else ""), 11, "ld")
    if title:
        text(draw, ((left + right) / 2, top + 2 * s), title, 12, "ma")
    if legend:
        ly = y0 + 6 * s
        for name, _, _, colour, width in series:
            draw.line([(x1 - 70 * s, ly), (x1 - 52 * s, ly)], fill=colour, width=width * s)
            text(draw, (x1 - 48 * s, ly), name, 10, "lm")
            ly += 15 * s


def probability_rgb(p):
    """P(class 1) (…) in [0, 1] -> RGB uint8 (…, 3): class 0's colour, through white, class 1's."""
    colours = class_rgb(2).astype(np.float32)
    p = np.clip(np.nan_to_num(np.asarray(p, np.float32), nan=0.5), 0, 1)[..., None]
    white = np.float32(255)
    toward = np.where(p < 0.5, colours[0], colours[1])
    weight = np.abs(p - 0.5) * 2 * 0.85  # never fully saturated: the points stay visible
    return (white + (toward - white) * weight).astype(np.uint8)


def classes_rgb(proba):
    """Class probabilities (k, …) with k ≥ 2 -> RGB (…, 3): the likeliest class's colour, paler
    where the network is less sure."""
    proba = np.nan_to_num(np.asarray(proba, np.float32), nan=0.0)
    colours = class_rgb(proba.shape[0]).astype(np.float32)
    best = proba.argmax(axis=0)
    return tinted(colours[best], sureness(proba.max(axis=0), proba.shape[0]))


def sureness(most, k):
    """How sure a network is whose likeliest of k classes has probability `most` (float32 …):
    0 for 1/k (no class preferred), 1 for certainty."""
    return (most - 1 / k) / (1 - 1 / k)


def tinted(colours, sure):
    """Colours (…, 3) float32 toward white where the network is less sure (sure (…) in [0, 1])
    -> RGB uint8 (…, 3)."""
    weight = np.clip(sure, 0, 1)[..., None] * 0.7
    return (255 + (colours - 255) * weight).astype(np.uint8)


def diverging_rgb(values, low, high):
    """Values -> RGB: class 0's colour at `low`, white midway, class 1's colour at `high`."""
    if high <= low:
        return probability_rgb(np.full(np.shape(values), 0.5))
    return probability_rgb((np.asarray(values, np.float32) - low) / (high - low))
