"""Figures drawn from arrays, for a run and for a study; nothing here knows MLflow.

style: the classes' colours, series colours, numbers as labels, axis scales, saving.
raster: drawing small images straight with Pillow (fonts, ticks, a chart's axes, colour maps).
run_plots: a run's own plots, fast (learning curves, decision boundary, confusion matrix,
    hidden units, the boundary per recorded epoch).
study_plots: a study's figures with matplotlib (heatmap, a score against a key, mean curves with
    their band, gradient norms, boundary and hidden-unit grids), for the report and compare.
"""
