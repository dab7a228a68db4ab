"""The experiment itself: seeds and data (moving here from src.run; until then re-exported).

The report and src.compare import derive_seeds and load_data from here, so they never import the
Hydra entry point src.run; the lead is moving the code itself into this module.
"""

from src.run import derive_seeds, load_data

__all__ = ["derive_seeds", "load_data"]
