"""`python -m src.compare …` from the project root, as the README says: runs netlab.compare."""

import runpy

runpy.run_module("netlab.compare", run_name="__main__", alter_sys=True)
