"""One report, start to end: read the study, draw its figures, write report.md, log it.

build() writes experiments/<study>/report.md for a committed study, reports/<experiment>/report.md
otherwise (or --out DIR), with its figures beside it, replacing only the files an earlier report
there wrote (see output.py), and logs them under `report/` in the sweep's parent run.
"""

import shlex
from pathlib import Path

from mlflow import MlflowClient

from netlab.figures import run_plots, style
from netlab.figures.style import DPI
from netlab.tracking.store import open_existing, resolve_uri

from . import boundaries, comparisons, design, dynamics, figure_choice, stats, tables
from .conclusion import conclusion
from .coverage import coverage
from .output import Output, default_folder
from .power import DEFAULT_EFFECT
from .study import _column, load_study


class Saver:
    """Saves a report's figures into its Output, in one format and resolution."""

    def __init__(self, output, fmt="png", dpi=DPI):
        self.output, self.fmt, self.dpi = output, fmt, dpi

    def __call__(self, fig, stem):
        """Write a matplotlib Figure as stem.<format>; returns the file name."""
        name = f"{stem}.{self.fmt}"
        style.save(fig, self.output.file(name).parent, stem, self.fmt, self.dpi)
        return name

    def gif(self, stem, snap, title):
        """Write a run's boundary snapshots as stem.gif; returns the file name."""
        name = f"{stem}.gif"
        run_plots.boundary_gif(snap, self.output.file(name), title)
        return name


def command_line(experiment, tracking_uri=None, out=None, sweep=None, log=True, dpi=DPI,
                 fmt="png", baseline=None, effect=DEFAULT_EFFECT):
    """The command that makes this report, flags included."""
    args = ["python", "-m", "src.report", experiment]
    if sweep == "all":
        args.append("--all")
    elif sweep is not None:
        for sweep_id in [sweep] if isinstance(sweep, str) else sweep:
            args += ["--sweep", sweep_id]
    for flag, value in (("--tracking-uri", tracking_uri), ("--out", out),
                        ("--dpi", None if dpi == DPI else dpi),
                        ("--format", None if fmt == "png" else fmt),
                        ("--effect", None if effect == DEFAULT_EFFECT else effect)):
        if value is not None:
            args += [flag, str(value)]
    for key, value in (baseline or {}).items():
        args += ["--baseline", f"{key}={value}"]
    return shlex.join(args + ([] if log else ["--no-log"]))


def build(experiment, tracking_uri=None, out=None, sweep=None, log=True, dpi=DPI, fmt="png",
          baseline=None, study_path=None, command=None, effect=DEFAULT_EFFECT):
    """Write the report of an experiment; returns (path of report.md, Study).

    sweep: None (the experiment's sweeps), 'all' (every run) or the sweeps' parent run ids ('latest'
    for the newest), see study.load_study; baseline: {key: value} (default: the study file's
    `baseline:`); study_path: the study file
    (default experiments/<study>.yaml); command: the command line shown in the footer; effect:
    the difference in accuracy the report says how many seeds would detect.
    """
    uri = resolve_uri(tracking_uri)
    open_existing(uri)  # never created or changed here: a mistyped path is an error
    study = load_study(uri, experiment, sweep=sweep)
    client = MlflowClient(uri)
    study_path = study_path or design.study_file(experiment)
    baseline = baseline or design.baseline(study_path)
    with Output(default_folder(experiment) if out is None else Path(out)) as output:
        save = Saver(output, fmt, dpi)
        agg = stats.aggregate(study.runs, study.keys)
        compared = (comparisons.against_baseline(study.runs, study.keys, agg, baseline)
                    if baseline else None)
        gradients = dynamics.first_layer_table(study)
        chance = boundaries.chance_level(client, gradients) if gradients is not None else None

        figures = [*figure_choice.heatmap(study, agg, save),
                   *figure_choice.accuracy_against(study, agg, save),
                   *figure_choice.learning_curves(study, client, agg, save),
                   *figure_choice.performance_profile(study, save),
                   *dynamics.gradient_norms(study, client, save),
                   *dynamics.first_layer_gradient(study, client, save, gradients),
                   *dynamics.unit_share_vs_lr(study, agg, save),
                   *boundaries.boundary_figures(study, client, agg, save),
                   *boundaries.hidden_units(study, client, agg, save)]

        parts = [f"# Study report: {experiment}"]
        asked = design.question(study_path)
        if asked:
            parts.append(f"**Question.** {asked}")
        parts.append("## What this report covers\n\n" + coverage(study))
        results, robust_scopes = [], None
        if study.seeded:
            robust_scopes = comparisons.robust_scopes(study.runs, study.keys, agg)
            results.append(tables.configurations(study, agg))
            results.append(tables.robust_tables(study, agg, robust_scopes))
            results.append(tables.variance_table(study, agg))
        if compared is not None and compared[0] is not None:
            results.append(tables.baseline_table(study, compared[0], baseline))
        results = [part for part in results if part]
        if results:
            parts.append("## Results\n\n" + "\n\n".join(results))
        else:
            parts.append("## Results\n\n" + tables.every_run(study))
        if figures:
            parts.append("## Figures\n\n" + "\n\n".join(f"![{name}]({name})\n\n{caption}"
                                                        for name, caption in figures))
        parts.append("## Conclusion\n\n" + conclusion(
            study, agg, compared, baseline, dynamics.depth_verdict(study, gradients, chance),
            robust_scopes=robust_scopes, effect=effect))
        if results:
            parts.append(tables.every_run(study, heading="##"))
        own_baseline = baseline if baseline != design.baseline(study_path) else None
        command = command or command_line(experiment, tracking_uri, out, sweep, log, dpi, fmt,
                                          own_baseline, effect)
        parts.append(f"---\nGenerated from the tracking store by `{command}`; the same command "
                     "regenerates it after the sweep is rerun.")
        output.file("report.md").write_text("\n\n".join(parts) + "\n")
        made_by = _column(study.runs, "tags.code_hash").dropna().unique().tolist()
        output.close(command, {"training_code": sorted(made_by)})  # netlab.report.committed
        path = output.folder / "report.md"
        if log and study.parent is not None:
            for name in output.written:
                client.log_artifact(study.parent.info.run_id, str(output.folder / name),
                                    artifact_path="report")
    return path, study
