"""`python -m src.report …` from the project root, as the README says: runs netlab.report."""

import runpy

runpy.run_module("netlab.report", run_name="__main__", alter_sys=True)
