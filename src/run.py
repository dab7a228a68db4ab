"""`python -m src.run …` from the project root, as the README says: runs netlab.run."""

import runpy

runpy.run_module("netlab.run", run_name="__main__", alter_sys=True)
