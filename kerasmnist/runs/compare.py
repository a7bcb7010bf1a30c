"""Several runs side by side: each run's best trial, how their specs differ, and their curves.

`compare_runs` reads run directories as `kerasmnist runs show` does and
returns a `Comparison`; `kerasmnist runs compare` prints it (tables and a
terminal chart) and `kerasmnist.plots.plot_compare` draws its curves.

Runs that rank trials by different objectives (one by `val_accuracy`, one by
`val_loss`) can be compared: each run's best trial is its own objective's
best, but their scores are values of different metrics, so the comparison
says so (`Comparison.comparable` is `False`, `Comparison.note` says why). The
curves are of one metric for every run (`metric`), so they always compare,
and so does the test accuracy.

The module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.runs.export import best_epoch
from kerasmnist.runs.rundir import read_results, read_run
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import RunState, RunStatus
from kerasmnist.runs.trials import TrialState, TrialStatus, as_number

__all__ = ["Comparison", "RunBest", "compare_runs", "spec_differences"]


@dataclass(frozen=True)
class RunBest:
    """One run of a comparison: its best trial.

    Attributes:
        run: The run directory, as it was given.
        label: A short name for tables and legends: the directory's name, or
            the path as given where two runs have the same name.
        status: The run's status (`kerasmnist.runs.state.RunStatus`).
        objective: The metric that ranks the run's trials.
        trial_id: Its best trial's id: the one its results name once
            finished, else the best by `objective` so far.
        trial_status: That trial's status.
        score: That trial's value of `objective`.
        best_epoch: The epoch (from 1) at which it was best, or `None`.
        epochs: Epochs it trained.
        params: Its weight count, or `None`.
        seconds: Seconds its epochs took, or `None`.
        run_seconds: Seconds the whole run has taken (all its sessions).
        test_accuracy: The final model's test accuracy (`results.json`), once
            the run finished; else `None`.
        hyperparameters: The best trial's hyperparameters.
        curve: The best trial's value of the comparison's metric, epoch by
            epoch (`None` where not logged).
    """

    run: str
    label: str
    status: RunStatus
    objective: str
    trial_id: str
    trial_status: TrialStatus
    score: float
    best_epoch: int | None
    epochs: int
    params: int | None
    seconds: float | None
    run_seconds: float | None
    test_accuracy: float | None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    curve: Sequence[float | None] = ()

    def to_dict(self) -> dict[str, Any]:
        """The run's best trial in plain JSON types."""
        values = dataclasses.asdict(self)
        values.update(status=self.status.value, trial_status=self.trial_status.value,
                      hyperparameters=dict(self.hyperparameters), curve=list(self.curve))
        return values


@dataclass(frozen=True)
class Comparison:
    """Runs side by side (`compare_runs`).

    Attributes:
        runs: Each run's best trial, in the order the runs were given.
        specs: Each run's spec (its `spec.toml`), in the same order.
        differences: The spec fields whose values differ between the runs, each
            with its value in every run (`spec_differences`).
        metric: The metric of the runs' `curve`s.
        comparable: Whether the runs' scores are values of one objective.
        note: Why the scores are not comparable, or `None`.
    """

    runs: list[RunBest]
    specs: list[RunSpec]
    differences: dict[str, list[Any]]
    metric: str
    comparable: bool = True
    note: str | None = None

    def curves(self) -> dict[str, list[float | None]]:
        """Each run's curve of `metric`, by its label."""
        return {run.label: list(run.curve) for run in self.runs}

    def to_dict(self) -> dict[str, Any]:
        """The comparison in plain JSON types (the specs left out: `differences` says what differs)."""
        return {"metric": self.metric, "comparable": self.comparable, "note": self.note,
                "runs": [run.to_dict() for run in self.runs], "differences": dict(self.differences)}


def spec_differences(specs: Sequence[RunSpec | Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The spec fields whose values differ between runs.

    Args:
        specs: The specs: `RunSpec`s, or mappings of their fields (`RunSpec.to_dict()`,
            `RunState.spec`); a field a mapping lacks is `None`.

    Returns:
        Each differing field (in `RunSpec`'s order, then others as met) with its
        value in each spec, in plain JSON types, in the order of `specs`.

    Example:

    >>> spec_differences([RunSpec(epochs=3), RunSpec(epochs=5, seed=1), RunSpec(epochs=3)])
    {'epochs': [3, 5, 3], 'seed': [0, 1, 0]}
    """
    values = [spec.to_dict() if isinstance(spec, RunSpec) else dict(spec) for spec in specs]
    names = dict.fromkeys(f.name for f in dataclasses.fields(RunSpec))
    for spec in values:
        names.update(dict.fromkeys(spec))
    differences = {}
    for name in names:
        column = [spec.get(name) for spec in values]
        if any(value != column[0] for value in column[1:]):
            differences[name] = column
    return differences


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]], *, metric: str | None = None) -> Comparison:
    """Each run's best trial, the differences between their specs and the best trials' curves.

    Args:
        run_dirs: The run directories, at least one.
        metric: The logged metric of the curves (`"val_loss"`, ...). Defaults to
            `None`: the first run's objective.

    Returns:
        The comparison. Runs ranked by different objectives are compared too,
        with `comparable` `False` and a `note` (see the module's docstring).

    Raises:
        InvalidArgumentError: No run directory was given, a directory holds no run
            (the message names it), or no best trial logged `metric`.
        RunError: A run is damaged (a file cannot be read) or has no trial with
            a score yet; the message names the run.

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.events import EventWriter
    >>> def made(epochs, accuracy):
    ...     run_dir = pathlib.Path(tempfile.mkdtemp())
    ...     _ = (run_dir / "spec.toml").write_text(RunSpec(search="random", epochs=epochs).to_toml())
    ...     with EventWriter(run_dir / "events.jsonl") as events:
    ...         _ = events.trial_started("0", {"units": 8})
    ...         _ = events.epoch_ended(0, {"val_accuracy": accuracy}, seconds=1.0, trial_id="0")
    ...         _ = events.trial_ended("0", status="COMPLETED", score=accuracy, params=6370)
    ...     return run_dir
    >>> comparison = compare_runs([made(1, 0.8), made(2, 0.9)])
    >>> comparison.differences, [run.score for run in comparison.runs], comparison.comparable
    ({'epochs': [1, 2]}, [0.8, 0.9], True)
    """
    names = [os.fspath(run_dir) for run_dir in run_dirs]
    if not names:
        raise InvalidArgumentError("Invalid value for argument `run_dirs`. Expected at least one run "
                                   "directory. Received: run_dirs=[]")
    read: list[tuple[str, RunState, RunStatus, RunSpec, TrialState, float]] = []
    for name in names:
        state, info = read_run(name, argument="run_dirs")
        spec = info.spec if info.spec is not None else RunSpec()  # read_run refuses a run without one
        trial = state.final_trial()
        if trial is None or trial.score is None:
            raise RunError(f"The run {name} has no trial with a score yet: it has nothing to compare")
        read.append((name, state, info.status, spec, trial, trial.score))
    objectives = [spec.objective for _, _, _, spec, _, _ in read]
    metric = metric or objectives[0]
    best_trials = [trial for *_, trial, _ in read]
    if not any(value is not None for trial in best_trials for value in trial.history(metric)):
        raise InvalidArgumentError(
            f"Invalid value for argument `metric`. Expected a metric the runs' best trials logged "
            f"({', '.join(_logged(best_trials)) or 'none'}). Received: metric={metric!r}")
    runs = [RunBest(run=name, label=label, status=status, objective=spec.objective,
                    trial_id=trial.trial_id, trial_status=trial.status, score=score,
                    best_epoch=best_epoch(trial, spec.objective), epochs=trial.epochs_done,
                    params=trial.params, seconds=trial.seconds,
                    run_seconds=state.progress(time.time(), alive=status is RunStatus.RUNNING).elapsed,
                    test_accuracy=_test_accuracy(name, state), hyperparameters=dict(trial.hyperparameters),
                    curve=trial.history(metric))
            for (name, state, status, spec, trial, score), label in zip(read, _labels(names), strict=True)]
    specs = [spec for _, _, _, spec, _, _ in read]
    if len(set(objectives)) == 1:
        return Comparison(runs, specs, spec_differences(specs), metric)
    note = ("The runs rank trials by different objectives ("
            + ", ".join(f"{run.label}: {run.objective}" for run in runs)
            + f"): their scores are not comparable; the curves ({metric}) and the test accuracies are")
    return Comparison(runs, specs, spec_differences(specs), metric, comparable=False, note=note)


def _test_accuracy(run_dir: str, state: RunState) -> float | None:
    """The final model's test accuracy: `results.json`'s, else the log's `run_ended`'s."""
    try:
        results = read_results(run_dir)
    except ValueError:  # changed since read_run read it
        results = None
    if results is not None:
        accuracy = as_number(results.get("test_accuracy"))
        if accuracy is None:
            accuracy = next((as_number(split.get("accuracy")) for split in results.get("splits", [])
                             if split.get("split") == "test"), None)
        if accuracy is not None:
            return accuracy
    return state.test_accuracy


def _labels(names: list[str]) -> list[str]:
    """Each run's directory name; the path as given where names repeat; `#n` where paths do."""
    short = [Path(name).name or name for name in names]
    labels = [s if short.count(s) == 1 else name for s, name in zip(short, names, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return unique


def _logged(trials: Sequence[TrialState]) -> list[str]:
    """The metrics the trials logged, as met."""
    seen: dict[str, None] = {}
    for trial in trials:
        for event in trial.epochs:
            seen.update(dict.fromkeys(event.get("logs") or {}))
    return list(seen)
