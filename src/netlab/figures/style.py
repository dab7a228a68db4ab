"""One look for every figure: the classes' colours, the series' colours, numbers as labels, axes.

The classes have one colour scheme everywhere (a run's plots, the report, netlab.compare, the images
logged per epoch): class 0 orange, class 1 blue, then green, purple… (Okabe and Ito's palette,
readable with the common colour-vision deficiencies). For two classes the plane is coloured by
P(class 1), from class 0's colour through white to class 1's.
"""

import functools
import math

import numpy as np

CLASS_COLORS = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
                "#000000"]
SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"]
NAMED_SERIES = {"sigmoid": "#d62728", "tanh": "#1f77b4", "relu": "#2ca02c",
                "leaky_relu": "#9467bd", "identity": "#7f7f7f"}
FONT = {"title": 13, "label": 12, "tick": 11, "legend": 10, "cell": 10, "panel": 11}
DPI = 100  # the report's default: a 5-inch panel is 500 px, its text legible on a projector
# the resolutions the commands accept: a 2-run report at 1200 dpi holds ~2 GB while it draws
MIN_DPI, MAX_DPI = 20, 1200
FORMATS = ("png", "svg", "pdf")


def rgb(color):
    """'#rrggbb' -> (r, g, b) integers."""
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))


@functools.lru_cache(maxsize=16)
def class_rgb(n):
    """The colours of n classes as an (n, 3) uint8 array (the palette repeats past eight); built
    once per n (a plot asks for it per frame), so read-only."""
    palette = np.array([rgb(color) for color in CLASS_COLORS], dtype=np.uint8)
    colours = palette[np.arange(n) % len(palette)]
    colours.flags.writeable = False
    return colours


def series_color(name, index):
    """The colour of a named series (activations keep theirs in every figure), else by position."""
    return NAMED_SERIES.get(str(name), SERIES_COLORS[index % len(SERIES_COLORS)])


def label(value):
    """A value as text: 0.3 not 0.30000000000000004, 8 not 8.0, '—' for a missing value."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating):
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{float(value):.4g}"
    return str(value)


def axis_scale(values):
    """'log' for positive values spanning a decade or more; 'symlog' when such values include 0;
    else 'linear'. Returns (scale, linthresh) — linthresh is the smallest positive value."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    positive = values[values > 0]
    if len(positive) < 2 or (values < 0).any() or positive.max() / positive.min() < 10:
        return "linear", None
    return ("symlog", float(positive.min())) if (values == 0).any() else ("log", None)


def set_scale(ax, values, which="x"):
    """Give ax a linear, log or symlog axis for values (see axis_scale); returns the scale."""
    scale, linthresh = axis_scale(values)
    setter = ax.set_xscale if which == "x" else ax.set_yscale
    if scale == "symlog":
        setter("symlog", linthresh=linthresh, linscale=0.5)
    else:
        setter(scale)
    return scale


def save(fig, folder, stem, fmt="png", dpi=DPI):
    """Write a matplotlib Figure to folder/stem.fmt (png, svg or pdf); returns the file name."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    name = f"{stem}.{fmt}"
    options = {"pil_kwargs": {"compress_level": 3}} if fmt == "png" else {}
    if fmt == "svg":
        options["metadata"] = {"Date": None}  # the same figure gives the same file
    elif fmt == "pdf":
        options["metadata"] = {"CreationDate": None}
    fig.savefig(folder / name, dpi=dpi, **options)
    return name
