"""`python -m src.compare RUN RUN …`: runs side by side on one page, like a study report.

Each RUN is any unique prefix of a run id, in any experiment of the store. The page shows the
runs' status and final accuracies, their parameters (the rows that differ first, in bold), where
their code and data came from, their learning curves overlaid, and their decision boundaries and
hidden units (2-D data). It is written to reports/compare/<id>-<id>…/compare.md (git-ignored), or
--out DIR; only files it wrote there are ever replaced.

page: the runs found, drawn and written; __main__: the command line.
"""
