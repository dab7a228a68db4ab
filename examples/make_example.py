"""Writes examples/leaves.csv: 300 synthetic leaves, two measurements and the tree they fell from.

The numbers are made up (drawn from the normal distributions below, seed 2024), shaped like real
leaves: willow leaves are long and narrow, oak leaves long and broad, birch leaves short and broad.
Two numeric features, so `python -m src.run dataset=csv dataset.path=examples/leaves.csv
dataset.label=tree` draws the network's decision boundary, and a text label with three classes.
Run `python examples/make_example.py` to write the file again (it is committed; the output does
not change).
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


def leaves(seed=2024):
    """Rows (length_mm, width_mm, tree) of PER_TREE leaves of every tree, shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for tree, (length, length_sd, ratio, ratio_sd) in TREES.items():
        lengths = rng.normal(length, length_sd, PER_TREE).clip(min=10)
        widths = lengths * rng.normal(ratio, ratio_sd, PER_TREE).clip(min=0.05)
        rows += [(round(a, 1), round(b, 1), tree) for a, b in zip(lengths, widths, strict=True)]
    return [rows[i] for i in rng.permutation(len(rows))]


if __name__ == "__main__":
    out = Path(__file__).with_name("leaves.csv")
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["length_mm", "width_mm", "tree"])
        writer.writerows(leaves())
    print(f"wrote {out}")
