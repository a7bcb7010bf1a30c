"""A run as one self-contained HTML file, for a browser, a phone or paper.

`report_html(run_dir)` gives the page and `write_report(run_dir, path)` writes
it atomically (`kerasmnist report RUN` and the terminal UI's `w` key call it).
The page holds the run's facts, its spec, the train/validation/test table, the
trial leaderboard, the best trial's curves, the test confusion matrix with each
class's precision, recall and F1, the test images the final model is surest
wrong about, how much each hyperparameter mattered, the trials in parallel
coordinates and, for searches, the front of the objective against weights.
Each section is there when the run has its data, and a one-line note says why
when it has not (a run still running has no results yet).

The file stands alone: one inline style sheet, no script, no font, no link to
anything outside it; every image is a PNG inlined as a `data:` URI, and every
value read from the run is HTML-escaped. Plots need matplotlib (the `plots`
extra); without it the report is still written, with tables where it can and a
note, naming the extra, in place of each plot. The misclassified images need
no matplotlib: each is its own small PNG, encoded here.

Importing this module loads neither Keras nor matplotlib: the model is loaded
(for the misclassified images) only while a report is made.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import os
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerasmnist.errors import InvalidArgumentError, KerasMnistError, RunError
from kerasmnist.evaluation import class_metrics, normalize_confusion, top_confusions
from kerasmnist.fileio import atomic_write_text
from kerasmnist.importance import RunImportance, importance_of
from kerasmnist.pareto import FrontTrial, best_under, pareto_front, spec_budgets
from kerasmnist.runs.export import trial_rows
from kerasmnist.runs.rundir import MODEL_FILE, RunInfo, read_results, read_run
from kerasmnist.runs.spec import RunSpec, objective_direction
from kerasmnist.runs.state import RunState, duration_text
from kerasmnist.runs.trials import TrialState, short_value

__all__ = ["MAX_AXES", "MISTAKES_SHOWN", "REPORT_FILE", "report_html", "write_report"]

REPORT_FILE = "report.html"
"""The report's name in its run directory, where `write_report` puts it by default."""

MISTAKES_SHOWN = 24
"""How many misclassified test images the report shows: those the model is surest of."""

MAX_AXES = 8
"""The most hyperparameters the parallel coordinates and slices show: the most important ones."""

PathLike = str | os.PathLike[str]


def report_html(run_dir: PathLike) -> str:
    """The report of a run directory, as one self-contained HTML page.

    A run that has not finished gets a report too: each section it has no data
    for yet is a one-line note.

    Args:
        run_dir: The run directory.

    Returns:
        The HTML page.

    Raises:
        InvalidArgumentError: There is no run in `run_dir` (no `spec.toml`).
        RunError: The run is damaged: a file of it cannot be read (the message
            names the run and the file, as `kerasmnist runs show` says it).

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.runs.spec import RunSpec
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / "spec.toml").write_text(RunSpec().to_toml())
    >>> page = report_html(run_dir)
    >>> page.startswith("<!DOCTYPE html>"), "No results yet" in page
    (True, True)
    """
    run = _read_run(Path(run_dir))
    with tempfile.TemporaryDirectory(prefix="kerasmnist-report-") as scratch:
        pictures = _Pictures(Path(scratch))
        ranking = importance_of(run.state)
        sections = [
            ("spec", "Spec", _spec_section(run)),
            ("results", "Train, validation and test", _splits_section(run)),
            ("leaderboard", "Leaderboard", _leaderboard_section(run)),
            ("curves", "Curves", _curves_section(run, pictures)),
            ("confusion", "Confusion matrix", _confusion_section(run)),
            ("mistakes", "Misclassified test images", _mistakes_section(run)),
            ("importance", "Hyperparameter importance", _importance_section(ranking)),
            ("parallel", "Parallel coordinates", _parallel_section(run, pictures, ranking)),
        ]
        if run.spec.search != "none":
            sections.append(("front", f"Front: {run.spec.objective} against weights",
                              _front_section(run, pictures)))
    return _page(run, sections)


def write_report(run_dir: PathLike, path: PathLike | None = None) -> Path:
    """Writes the report of a run (`report_html`) to a file, atomically.

    Args:
        run_dir: The run directory.
        path: The HTML file to write; its directory is made if missing.
            Defaults to `None`: `report.html` in the run directory.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: There is no run in `run_dir`.
        RunError: The run is damaged.
        OSError: The file cannot be written.

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.runs.spec import RunSpec
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / "spec.toml").write_text(RunSpec().to_toml())
    >>> write_report(run_dir).name
    'report.html'
    """
    target = Path(run_dir) / REPORT_FILE if path is None else Path(path)
    atomic_write_text(target, report_html(run_dir))
    return target


# -- reading the run -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    path: Path
    info: RunInfo
    spec: RunSpec
    state: RunState
    results: dict[str, Any] | None

    @property
    def best_trial(self) -> TrialState | None:
        """The final model's trial once finished, else the best so far, else the trial the run
        would show."""
        return self.state.final_trial() or self.state.focus_trial()


def _read_run(path: Path) -> _Run:
    """The run, read as `kerasmnist runs show` reads it (`read_run`): a damaged one is refused."""
    state, info = read_run(path)
    try:
        results = read_results(path)
    except ValueError as error:  # changed since read_run read it
        raise RunError(f"The run {path} is damaged: {error}") from None
    if info.spec is None:  # read_run refuses such a run already
        raise RunError(f"The run {path} is damaged: its spec cannot be read")
    return _Run(path, info, info.spec, state, results)


# -- sections ------------------------------------------------------------------------------


def _spec_section(run: _Run) -> str:
    rows = []
    for name, value in run.spec.to_dict().items():
        if name == "overrides":
            shown = "; ".join(f"{k} = {_value_text(v)}" for k, v in value.items()) or "none"
        else:
            shown = _value_text(value)
        rows.append((_e(name), _e(shown)))
    return _table(("field", "value"), rows, classes="spec", left=2)


def _splits_section(run: _Run) -> str:
    results = run.results
    if results is None:
        return _note(f"No results yet: the run is {run.info.status}.")
    rows = [(_e(s["split"]), _count(s["examples"]), _fixed(s.get("loss"), 4), _fixed(s.get("accuracy"), 4),
             _fixed(s.get("error_rate"), 2)) for s in results["splits"]]
    parts = [_table(("split", "examples", "loss", "accuracy", "error %"), rows),
             f"<p>Final model: trial {_e(results['best_trial'])}, {_count(results['params'])} weights.</p>"]
    if results.get("trained_on_validation"):
        parts.append(_note("Retrained on training and validation data: validation is not held out."))
    if results.get("time_limit_reached"):
        parts.append(_note(f"The search stopped at its time limit of {_e(run.spec.max_minutes)} minutes."))
    reps = results.get("replicates")
    if reps:
        median = f", median {reps['median']:.4f}" if "median" in reps else ""
        parts.append(f"<p>Test accuracy over {len(reps['values'])} replicates: {reps['mean']:.4f} ± "
                     f"{reps['std']:.4f}{median}.</p>")
    if run.spec.search != "none":
        parts.append(f"<p>The search spent {_e(run.state.spend().describe())}.</p>")
    return "\n".join(parts)


def _leaderboard_section(run: _Run) -> str:
    rows = trial_rows(run.state)
    if not rows:
        return _note("No trial has started yet.")
    objective = run.state.objective
    varying = run.state.varying_hyperparameters()
    best = run.best_trial
    headers = ("#", "trial", "status", objective, "best epoch", "weights", "epochs", "seconds", *varying)
    cells = [(str(rank), _e(row["trial_id"]), _e(row["status"]), _fixed(row["score"], 4),
              _e(row["best_epoch"] or ""), _count(row["params"]), _count(row["epochs"]),
              _fixed(row["seconds"], 1), *(_e(short_value(row.get(f"hp_{name}"))) for name in varying))
             for rank, row in enumerate(rows, start=1)]
    marked = {i for i, row in enumerate(rows) if best is not None and row["trial_id"] == best.trial_id}
    caption = f"{len(rows)} trial{'s' if len(rows) != 1 else ''}, best first by {objective}"
    if varying:
        caption += ", with the hyperparameters that differ between them"
    parts = [_table(headers, cells, caption=caption, left=3, marked=marked)]
    fixed = {name[3:]: value for name, value in rows[0].items()
             if name.startswith("hp_") and name[3:] not in varying and not name.startswith("hp_tuner/")}
    if fixed and len(rows) > 1:
        parts.append("<p>The same in every trial: " + "; ".join(
            f"{_e(name)} = {_e(short_value(value))}" for name, value in fixed.items()) + ".</p>")
    return "\n".join(parts)


def _curves_section(run: _Run, pictures: _Pictures) -> str:
    trial = run.best_trial
    if trial is None or not trial.epochs:
        return _note("No epoch has ended yet.")
    keys = dict.fromkeys(k for e in trial.epochs for k in (e.get("logs") or {}))
    history = {key: [math.nan if v is None else v for v in trial.history(key)] for key in keys}
    metrics = [m for m in ("loss", "accuracy") if any(k in history for k in (m, f"val_{m}", f"train_{m}"))]
    if not metrics:
        return _note(f"Trial {trial.trial_id} logged no loss or accuracy.")
    from kerasmnist import plots

    title = f"Trial {trial.trial_id}, epoch by epoch"
    return pictures.plot(lambda path: plots.plot_history(history, path, metrics=metrics, title=title),
                         alt=f"Loss and accuracy of trial {trial.trial_id} per epoch")


def _confusion_section(run: _Run) -> str:
    if run.results is None:
        return _note(f"No test confusion matrix yet: the run is {run.info.status}.")
    counts = np.asarray(run.results["confusion"], dtype=np.int64)
    names = [str(n) for n in run.results["class_names"]]
    shares = normalize_confusion(counts, "row")
    header = "<tr><th scope=\"col\">true \\ predicted</th>" + "".join(
        f"<th scope=\"col\">{_e(n)}</th>" for n in names) + "</tr>"
    body = []
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            share = float(shares[i, j])
            hue = "46,160,67" if i == j else "207,34,46"
            strength = share if i == j else min(1.0, 4 * share)  # mistakes are rarer: shade them stronger
            style = f" style=\"background:rgba({hue},{0.08 + 0.62 * strength:.2f})\"" if counts[i, j] else ""
            tip = f"{_e(name)} as {_e(names[j])}: {share:.1%}"
            cells.append(f"<td{style} title=\"{tip}\">{counts[i, j]}</td>")
        body.append(f"<tr><th scope=\"row\">{_e(name)}</th>{''.join(cells)}</tr>")
    matrix = (f"<p class=\"caption\">Test set, final model: rows true, columns predicted, shaded by "
              f"each true class's share</p><div class=\"scroll\"><table class=\"cm\"><thead>{header}</thead>"
              f"<tbody>{''.join(body)}</tbody></table></div>")
    metrics = class_metrics(counts)
    rows = [(_e(n), f"{p:.4f}", f"{r:.4f}", f"{f:.4f}", _count(s)) for n, p, r, f, s in
            zip(names, metrics.precision, metrics.recall, metrics.f1, metrics.support.tolist(), strict=True)]
    rows.append(("macro average", f"{metrics.precision.mean():.4f}", f"{metrics.recall.mean():.4f}",
                 f"{metrics.f1.mean():.4f}", _count(int(metrics.support.sum()))))
    per_class = _table(("class", "precision", "recall", "F1", "support"), rows,
                       caption="Per class, on the test set", marked={len(rows) - 1})
    top = top_confusions(counts, names)
    mixed = ("<p>Most frequent mistakes (true → predicted): "
             + ", ".join(f"{_e(t)} → {_e(p)} ({n})" for t, p, n in top) + ".</p>") if top else ""
    return "\n".join(filter(None, (matrix, per_class, mixed)))


def _mistakes_section(run: _Run) -> str:
    if run.results is None:
        return _note(f"No final model yet: the run is {run.info.status}.")
    model_path = run.path / MODEL_FILE
    if not model_path.is_file():
        return _note(f"The run has no {MODEL_FILE}, so its mistakes cannot be found.")
    try:
        model = _load_model(model_path)
        from kerasmnist.datasets import load_dataset
        from kerasmnist.evaluation import find_mistakes

        dataset = load_dataset(run.spec.dataset, validation=0, download=False, progress=False)
        mistakes = find_mistakes(model, dataset, split="test", top=MISTAKES_SHOWN)
    except (KerasMnistError, OSError, ValueError, ImportError) as error:
        return _note(f"The misclassified images cannot be shown: {error}")
    if not len(mistakes):
        return f"<p>The final model classifies all {_count(mistakes.examples)} test images correctly.</p>"
    images = dataset.raw("test")[0]
    figures = []
    for item in mistakes.as_dicts(dataset.class_names):
        image: np.ndarray = 255 - np.asarray(images[item["index"]], dtype=np.uint8).reshape(images.shape[1:3])
        height, width = image.shape
        caption = f"{item['true']} → {item['predicted']}"
        figures.append(
            f"<figure><img src=\"{_data_uri(_gray_png(image))}\" width=\"{width}\" "
            f"height=\"{height}\" alt=\"Test image {item['index']}: a {_e(item['true'])} "
            f"taken for a {_e(item['predicted'])}\"><figcaption>{_e(caption)}<br>"
            f"<span class=\"muted\">{item['confidence']:.0%} · #{item['index']}</span></figcaption></figure>")
    share = mistakes.errors / mistakes.examples if mistakes.examples else 0.0
    return (f"<p>{_count(mistakes.errors)} of {_count(mistakes.examples)} test images misclassified "
            f"({share:.1%}); the {len(mistakes)} the final model is surest of, each as true → predicted "
            f"with the model's confidence:</p>\n<div class=\"mistakes\">{''.join(figures)}</div>")


def _importance_section(ranking: RunImportance) -> str:
    importance, reason = ranking
    if importance is None:
        return _note(f"No importance: {reason}.")
    rows = [(_e(name), f"{share:.1%}",
             f"<div class=\"bar\" style=\"width:{max(0.0, min(1.0, share)) * 100:.1f}%\"></div>")
            for name, share in importance.shares.items()]
    return _table(("hyperparameter", "share", ""), rows, bar_column=2,
                  caption=f"The share of {importance.objective}'s variation each explains on its own "
                          f"({importance.method}, {importance.trials} completed trials)")


def _parallel_section(run: _Run, pictures: _Pictures, ranking: RunImportance) -> str:
    trials = [t for t in run.state.trials.values() if t.score is not None]
    if len(trials) < 2:
        return _note("Fewer than two trials with a score: nothing to compare.")
    from kerasmnist import plots

    objective = run.state.objective
    varying = run.state.varying_hyperparameters()
    if ranking.importance is not None:  # the ones that matter most, most first
        varying = [*ranking.importance.shares, *(n for n in varying if n not in ranking.importance.shares)]
    shown = varying[:MAX_AXES]
    parts = []
    if len(varying) > len(shown):
        parts.append(f"<p>The {len(shown)} of {len(varying)} varying hyperparameters that "
                     + ("matter most." if ranking.importance is not None else "vary first.") + "</p>")
    parts += [
        pictures.plot(lambda path: plots.plot_parallel_coordinates(trials, objective, path,
                                                                   hyperparameters=shown or None),
                      alt=f"Each trial as a line through its hyperparameters to its {objective}"),
        pictures.plot(lambda path: plots.plot_slices(trials, objective, path, hyperparameters=shown or None),
                      alt=f"{objective} against each hyperparameter, one panel each"),
    ]
    return "\n".join(parts)


def _front_section(run: _Run, pictures: _Pictures) -> str:
    trials = [t for t in (FrontTrial.from_trial(trial, str(run.path)) for trial in run.state.trials.values())
              if t is not None]
    if not trials:
        return _note("No trial has ended with a score and a weight count yet.")
    objective = run.spec.objective
    direction = objective_direction(objective)
    budgets = spec_budgets(run.state.spec or run.spec.to_dict())
    front = pareto_front(trials, direction=direction)
    from kerasmnist import plots

    parts = [pictures.plot(lambda path: plots.plot_front(trials, path, direction=direction, budgets=budgets,
                                                         objective=objective),
                           alt=f"{objective} of each trial against its weights, with the front")]
    rows = [(_e(t.trial_id), _count(t.params), _fixed(t.score, 4), _e(t.status.value)) for t in front]
    parts.append(_table(("trial", "weights", objective, "status"), rows, left=1,
                        caption=f"The front: {len(front)} of {len(trials)} trials, fewest weights first"))
    if budgets:
        picks = best_under(trials, budgets, direction=direction)
        rows = [(_count(b), "none" if t is None else _e(t.trial_id), "" if t is None else _count(t.params),
                 "" if t is None else _fixed(t.score, 4)) for b, t in picks.items()]
        parts.append(_table(("budget", "trial", "weights", objective), rows,
                            caption="The best trial under each weight budget"))
    return "\n".join(parts)


# -- the page ------------------------------------------------------------------------------


def _page(run: _Run, sections: Sequence[tuple[str, str, str]]) -> str:
    from kerasmnist import __version__

    info, spec = run.info, run.spec
    name = run.path.resolve().name
    progress = run.state.progress(time.time(), info.pid is not None)
    planned = f" of {info.trials_planned}" if info.trials_planned else ""
    facts = [("status", str(info.status)), ("dataset", spec.dataset), ("model", spec.model),
             ("search", spec.search), ("started", _when(info.started)),
             ("duration", duration_text(progress.elapsed) if info.started is not None else ""),
             ("trials", f"{info.trials_done}{planned} done")]
    if info.best_score is not None:
        facts.append((f"best {spec.objective}", f"{info.best_score:.4f}"))
    if info.test_accuracy is not None:
        facts.append(("test accuracy", f"{info.test_accuracy:.4f}"))
    facts_html = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v)
    notes = []
    if info.note:
        notes.append(_note(f"Note: {info.note}"))
    if info.error:
        notes.append(f"<p>The run failed:</p><pre>{_e(info.error)}</pre>")
    nav = "".join(f"<li><a href=\"#{anchor}\">{_e(heading)}</a></li>" for anchor, heading, _ in sections)
    body = "\n".join(f"<section id=\"{anchor}\">\n<h2>{_e(heading)}</h2>\n{content}\n</section>"
                     for anchor, heading, content in sections)
    made = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kerasmnist {_e(__version__)}">
<title>Run {_e(name)}: kerasmnist report</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<header>
<h1>Run {_e(name)}</h1>
<dl class="facts">{facts_html}</dl>
{''.join(notes)}
<nav aria-label="Sections"><ul>{nav}</ul></nav>
</header>
{body}
<footer><p class="muted">Made by kerasmnist {_e(__version__)} on {made} from {_e(run.path)}.</p></footer>
</main>
</body>
</html>
"""


_STYLE = """
:root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 2rem}
h1{font-size:1.6rem;margin:.25rem 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
a{color:var(--accent)}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem 1rem;margin:0 0 1rem}
.facts dt{color:var(--muted)}
.facts dd{margin:0;overflow-wrap:anywhere}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.9rem}
.scroll{max-width:100%;overflow-x:auto;margin:0 0 1rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9rem}
.caption{color:var(--muted);margin:0 0 .35rem;font-size:.85rem}
th,td{padding:.25rem .6rem;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
thead th{background:var(--soft);border-bottom:2px solid var(--line)}
.l{text-align:left}
table.spec td{white-space:normal;overflow-wrap:anywhere}
tr.mark td,tr.mark th{font-weight:600}
td.bar-cell{width:60%;min-width:6rem}
.bar{height:.75rem;background:var(--accent);border-radius:2px}
.cm th,.cm td{text-align:center;min-width:2.6rem;border:1px solid var(--line)}
.cm thead th{white-space:normal}
img.plot{display:block;max-width:100%;height:auto}
.mistakes{display:grid;grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr));gap:.75rem}
figure{margin:0;text-align:center;font-size:.8rem;overflow-wrap:anywhere}
figure img{width:84px;height:84px;image-rendering:pixelated;border:1px solid var(--line)}
.note,.muted{color:var(--muted)}
.note{font-style:italic}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.5rem;font-size:.85rem}
footer{margin-top:2rem;font-size:.85rem}
@media (max-width:40rem){
main{padding:.6rem .6rem 1.5rem}h1{font-size:1.3rem}table{font-size:.8rem}th,td{padding:.2rem .35rem}
img.plot{max-width:none;width:auto;height:18rem}
}
@media print{
body{font-size:10pt}main{max-width:none;padding:0}nav{display:none}a{color:inherit;text-decoration:none}
thead th{background:none}.scroll{overflow:visible}
h2{break-after:avoid}table,figure,img,tr,dl{break-inside:avoid}
.cm td,.bar{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""


# -- pieces --------------------------------------------------------------------------------


class _Pictures:
    """Plots drawn into a scratch directory and inlined as `<img>` tags."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._count = 0

    def plot(self, draw: Callable[[Path], Any], *, alt: str) -> str:
        """The `<img>` of the PNG `draw(path)` writes, or a note saying why there is none
        (no matplotlib: the message names the extra that brings it)."""
        self._count += 1
        path = self.directory / f"{self._count}.png"
        try:
            draw(path)
        except ImportError as error:
            return _note(f"No plot: {error}.")
        except InvalidArgumentError as error:
            return _note(f"No plot: {error}")
        return (f"<div class=\"scroll\"><img class=\"plot\" src=\"{_data_uri(_smaller_png(path))}\" "
                f"alt=\"{_e(alt)}\"></div>")


def _smaller_png(path: Path) -> bytes:
    """A plot's PNG with a palette of 256 colours: a third of the bytes, no visible change.

    Pillow comes with matplotlib, which drew the plot.
    """
    import io

    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _load_model(path: Path) -> Any:
    """The run's saved model (`kerasmnist.runs.checkpoints.load_model_file`)."""
    from kerasmnist.backend import load_backend

    load_backend()
    from kerasmnist.runs.checkpoints import load_model_file

    return load_model_file(path, argument="run_dir")


def _gray_png(image: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a `(height, width)` uint8 image."""
    height, width = image.shape
    rows = np.ascontiguousarray(image, dtype=np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on each row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str | None = None,
    classes: str = "",
    left: int = 1,
    marked: Iterable[int] = (),
    bar_column: int | None = None,
) -> str:
    """A table in a horizontally scrolling wrapper; cells are HTML already (escape first).

    The first `left` columns are left-aligned text; rows whose index is in
    `marked` are bold.
    """
    marked = set(marked)

    def align(i: int) -> str:
        if i == bar_column:
            return " class=\"bar-cell\""
        return " class=\"l\"" if i < left else ""

    head = "".join(f"<th scope=\"col\"{align(i)}>{_e(h)}</th>" for i, h in enumerate(headers))
    mark = " class=\"mark\""
    body = "".join(
        f"<tr{mark if k in marked else ''}>"
        + "".join(f"<td{align(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for k, row in enumerate(rows))
    caption_html = f"<p class=\"caption\">{_e(caption)}</p>" if caption else ""
    css = f" class=\"{classes}\"" if classes else ""
    return (f"{caption_html}<div class=\"scroll\"><table{css}><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _note(text: str) -> str:
    return f"<p class=\"note\">{_e(text)}</p>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _value_text(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_value_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def _fixed(value: Any, digits: int) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else ""


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
