"""`python -m src.reproduce …` from the project root, as the README says: runs netlab.reproduce."""

import runpy

runpy.run_module("netlab.reproduce", run_name="__main__", alter_sys=True)
