"""Speed benchmarks of the network against its peers; run with ``python -m benchmarks.nn``."""
