"""Writes the example tables: examples/leaves.csv (300 synthetic leaves, two measurements and the
tree they fell from) and examples/fruit.csv (120 synthetic fruit, as a real table comes: text
features and a few empty cells).

The numbers are made up (drawn from the normal distributions below, seeds 2024 and 2025), shaped
like the real things: willow leaves are long and narrow, oak leaves long and broad, birch leaves
short and broad; lemons are small and yellow, oranges heavy and orange, apples red or green.
leaves.csv has two numeric features, so `python -m src.run dataset=csv
dataset.path=examples/leaves.csv dataset.label=tree` draws the network's decision boundary, and a
text label with three classes. fruit.csv has two numeric features, two text ones (`colour`,
`market`), a text label (`fruit`) and four empty cells (two weights, a colour, a label): the
README's walk through `dataset.missing` and `dataset.categorical`.
Run `python examples/make_example.py` to write the files again (they are committed; the output
does not change).
"""

import csv
from pathlib import Path

import numpy as np

TREES = {  # tree: (mean length in mm, its sd, mean width / length, its sd)
    "willow": (105, 15, 0.20, 0.04),
    "oak": (90, 15, 0.55, 0.09),
    "birch": (62, 11, 0.70, 0.09),
}
PER_TREE = 100

FRUIT = {  # fruit: (mean weight in g, its sd, mean diameter in mm, its sd, colours it comes in)
    "apple": (150, 25, 75, 6, ("red", "green")),
    "orange": (190, 30, 82, 6, ("orange",)),
    "lemon": (110, 20, 60, 5, ("yellow", "green")),
}
PER_FRUIT = 40
MARKETS = ("north", "south", "east")
EMPTY = {"weight_g": (3, 57), "colour": (20,), "fruit": (88,)}  # the rows left empty, per column


def leaves(seed=2024):
    """Rows (length_mm, width_mm, tree) of PER_TREE leaves of every tree, shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for tree, (length, length_sd, ratio, ratio_sd) in TREES.items():
        lengths = rng.normal(length, length_sd, PER_TREE).clip(min=10)
        widths = lengths * rng.normal(ratio, ratio_sd, PER_TREE).clip(min=0.05)
        rows += [(round(a, 1), round(b, 1), tree) for a, b in zip(lengths, widths, strict=True)]
    return [rows[i] for i in rng.permutation(len(rows))]


def fruit(seed=2025):
    """Rows (weight_g, diameter_mm, colour, market, fruit) of PER_FRUIT fruit of every kind,
    shuffled, with the cells EMPTY names left empty."""
    rng = np.random.default_rng(seed)
    rows = []
    for kind, (weight, weight_sd, diameter, diameter_sd, colours) in FRUIT.items():
        for _ in range(PER_FRUIT):
            rows.append({"weight_g": round(rng.normal(weight, weight_sd)),
                         "diameter_mm": round(rng.normal(diameter, diameter_sd), 1),
                         "colour": colours[rng.integers(len(colours))],
                         "market": MARKETS[rng.integers(len(MARKETS))], "fruit": kind})
    rows = [rows[i] for i in rng.permutation(len(rows))]
    for column, where in EMPTY.items():
        for i in where:
            rows[i][column] = ""
    return rows


if __name__ == "__main__":
    out = Path(__file__).with_name("leaves.csv")
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["length_mm", "width_mm", "tree"])
        writer.writerows(leaves())
    print(f"wrote {out}")
    out = Path(__file__).with_name("fruit.csv")
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["weight_g", "diameter_mm", "colour", "market", "fruit"])
        writer.writeheader()
        writer.writerows(fruit())
    print(f"wrote {out}")
