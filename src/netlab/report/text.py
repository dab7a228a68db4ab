"""Numbers and configurations as the report writes them, and markdown tables.

Numbers are written as what they are: counts as integers (`n = 3`, `10 seeds`), config values as
given (`width 4`, `lr 0.3`), accuracies with three decimals or as percentages, differences in
percentage points; a missing value is '—'.
"""

import math

from netlab.figures.style import label

from .study import DATASET


def fmt(value, digits=3):
    """A measured number for a table ('—' when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def pct(x):
    """An accuracy as a percentage: '95.3 %'."""
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %"


def points(x, signed=True):
    """A difference of accuracies in percentage points: '+1.2 points'."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{100 * x:+.1f} points" if signed else f"{100 * abs(x):.1f} points"


def pct_range(low, high):
    """A confidence interval of an accuracy as percentages, within 0–100 %: '89.4 % to 100 %'."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"{pct(max(low, 0.0))} to {pct(min(high, 1.0))}"


def points_range(low, high):
    """An interval of differences in percentage points: '−1.0 to +3.5 points'."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"{100 * low:+.1f} to {100 * high:+.1f} points"


def p_value(p):
    """A p-value: 'p = 0.003', 'p < 0.001'."""
    if p is None or not math.isfinite(p):
        return "p undefined"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def count(n, noun, plural=None):
    """'1 run', '3 runs', '10 seeds'."""
    n = int(n)
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def mean_ci(mean, half, n, digits=3):
    """'0.953 [0.941, 0.965]' (the mean and its 95 % interval, `half` its half-width), or the mean
    alone when n < 2. '±' is kept for a standard deviation: one meaning per symbol."""
    if mean is None or not math.isfinite(mean):
        return "—"
    if n >= 2 and math.isfinite(half):
        return f"{mean:.{digits}f} [{mean - half:.{digits}f}, {mean + half:.{digits}f}]"
    return f"{mean:.{digits}f}"


def overrides(row, keys):
    """A configuration as its overrides: 'activation=tanh lr=0.3' ('—' for a normalised key)."""
    return " ".join(f"{k}={label(row[k])}" for k in keys) or "(the one config)"


def short(row, keys):
    """A configuration for a panel title: the dataset bare, other keys by their last part."""
    parts = [label(row[k]) if k == DATASET else f"{k.rsplit('.', 1)[-1]} {label(row[k])}"
             for k in keys]
    return " · ".join(parts) or "the one configuration"


def table(frame, columns):
    """A markdown table of frame's rows; columns maps a header to a column name or row -> text."""
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [get(row) if callable(get) else fmt(row[get]) for get in columns.values()]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def sorted_values(series):
    """The distinct values of a column, sorted (numbers numerically), missing values left out."""
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def value_list(series, limit=12):
    """The distinct values of a column for the text: all of them, or the range when many."""
    values = sorted_values(series)
    numeric = all(isinstance(v, int | float) for v in values)
    if len(values) > limit and numeric:
        return f"{len(values)} values from {label(values[0])} to {label(values[-1])}"
    return ", ".join(label(v) for v in values)


def sentence(text):
    """text with its first letter upper-cased."""
    return text[:1].upper() + text[1:]
