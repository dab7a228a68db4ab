"""`python -m src.export …` from the project root, as the README says: runs netlab.export."""

import runpy

runpy.run_module("netlab.export", run_name="__main__", alter_sys=True)
