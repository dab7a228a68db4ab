"""Study reports: `python -m src.report <study>` turns a study's runs into one page of tables,
figures and a conclusion with its statistics.

study: the runs, read from the tracking store; histories: their per-epoch metrics.
stats: intervals, paired tests, Holm, bands.
comparisons: the leader against the rest, every configuration against the baseline.
design: what the study file says (question, baseline). coverage, tables, conclusion, text: the
page's words. figure_choice, dynamics, boundaries: which figures, drawn by netlab.figures.
output: where the page goes and what it may replace. build: all of it; __main__: the command line.
"""
