"""Fixtures of the terminal UI's tests: recorded run directories and a way to drive the app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kerasmnist import events as events_module
from kerasmnist.errors import SpecError, error_details
from kerasmnist.events import EventWriter
from kerasmnist.runs.spec import RunSpec

CLASSES = [str(i) for i in range(10)]
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC: recorded runs never depend on today's date


@dataclass
class Recorded:
    """A recorded run directory and the values written into it."""

    path: Path
    spec: RunSpec
    epochs: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    validation_matrix: dict[str, list[list[int]]] = field(default_factory=dict)
    test_matrix: list[list[int]] | None = None


class _Clock:
    """Stands in for the `time` module in `kerasmnist.events`: each reading is a second later."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        self.now += 1.0
        return self.now


def _matrix(seed: int) -> list[list[int]]:
    """A 10 x 10 matrix with a strong diagonal, different for each seed."""
    return [[50 + seed + i if i == j else (i * 7 + j * 3 + seed) % 5 for j in range(10)] for i in range(10)]


def record_run(runs_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch, *, ending: str = "finished",
               trials: int = 3, epochs: int = 2, start: float = START,
               overrides: dict[str, Any] | None = None) -> Recorded:
    """Writes a run directory as the engine would: spec.toml, events.jsonl and, when
    finished, results.json.

    Args:
        ending: `"finished"`, `"failed"` (after the first epoch) or `"interrupted"`
            (during the second trial).
    """
    spec = RunSpec(search="random", trials=trials, epochs=epochs, limit=500, overrides=overrides or {})
    run_dir = runs_dir / name
    run_dir.mkdir(parents=True)
    (run_dir / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    recorded = Recorded(run_dir, spec)
    monkeypatch.setattr(events_module, "time", _Clock(start))
    with EventWriter(run_dir / "events.jsonl") as writer:
        writer.run_started(spec.to_dict(), plan={"trials": trials, "epochs": epochs}, resumed=False)
        for t in range(trials):
            trial_id = str(t)
            hps = {"num_layers": 2, "units_0": 64 * (t + 1), "activation": "relu", "learning_rate": 0.001}
            writer.trial_started(trial_id, hps, worker="tuner0")
            for e in range(epochs):
                logs = {"loss": 2.0 - 0.3 * e - 0.1 * t, "accuracy": 0.30 + 0.1 * e + 0.05 * t,
                        "val_loss": 1.9 - 0.3 * e - 0.1 * t, "val_accuracy": 0.35 + 0.1 * e + 0.07 * t,
                        "train_loss": 1.8 - 0.3 * e - 0.1 * t, "train_accuracy": 0.40 + 0.1 * e + 0.06 * t}
                recorded.epochs[(trial_id, e)] = logs
                matrix = _matrix(10 * t + e)
                recorded.validation_matrix[trial_id] = matrix
                writer.confusion(matrix, CLASSES, split="validation", epoch=e, trial_id=trial_id)
                writer.epoch_ended(e, logs, seconds=1.5 + e, epochs=epochs, trial_id=trial_id)
                if ending == "failed":
                    try:
                        raise ValueError("Out of memory while building the model")
                    except ValueError as error:
                        writer.run_failed(error)
                    monkeypatch.undo()
                    return recorded
            if ending == "interrupted" and t == 1:
                writer.run_interrupted("interrupted")
                monkeypatch.undo()
                return recorded
            score = recorded.epochs[(trial_id, epochs - 1)]["val_accuracy"]
            recorded.scores[trial_id] = score
            recorded.params[trial_id] = 50_890 * (t + 1)
            writer.trial_ended(trial_id, status="COMPLETED", score=score, params=50_890 * (t + 1),
                               worker="tuner0", message=None)
        best = max(recorded.scores, key=recorded.scores.__getitem__)
        recorded.test_matrix = _matrix(99)
        writer.confusion(recorded.test_matrix, CLASSES, split="test", trial_id=best)
        splits = [{"split": s, "examples": n, "loss": 0.5, "accuracy": a, "error_rate": 100 * (1 - a)}
                  for s, n, a in (("train", 500, 0.9), ("validation", 500, 0.8), ("test", 1000, 0.7912))]
        summary = {"test_accuracy": 0.7912, "splits": splits, "params": recorded.params[best],
                   "best_trial": best, "best_hyperparameters": {}, "replicates": None, "seconds": 12.0}
        (run_dir / "results.json").write_text(json.dumps({
            **summary, "run_dir": str(run_dir), "spec": spec.to_dict(), "class_names": CLASSES,
            "confusion": recorded.test_matrix, "trials": [], "top_confusions": [], "status": "finished"}))
        writer.run_ended(summary)
    monkeypatch.undo()
    return recorded


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """An empty runs directory."""
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture
def recorded(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Recorded]:
    """Three recorded runs: `finished` (3 trials), `failed` and `interrupted`, a minute apart."""
    return {ending: record_run(runs_dir, f"2026-{ending}", monkeypatch, ending=ending, start=START + 60 * i)
            for i, ending in enumerate(("finished", "failed", "interrupted"))}


def drive(app: Any, script: Callable[[Any], Awaitable[None]], size: tuple[int, int] = (160, 48)) -> None:
    """Runs `app` headless with `script(pilot)`; the tests stay plain functions (no async plugin)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await script(pilot)

    asyncio.run(main())


async def wait_for(
    pilot: Any, condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "",
    context: Callable[[], str] | None = None,
) -> None:
    """Pauses the app until `condition()` holds; fails after `timeout` seconds, with
    `context()` (the state of a child process, say) in the message."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            more = f"\n{context()}" if context is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}{more}")
        await pilot.pause(0.1)


async def wait_for_screen(pilot: Any, screen_type: type, *, timeout: float = 10.0) -> Any:
    """Waits until the app shows a mounted screen of `screen_type`; returns it."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, screen_type) and app.screen.is_mounted
                   and bool(app.screen.children), timeout=timeout, what=screen_type.__name__)
    await pilot.pause()
    return app.screen


@pytest.fixture
def stop_launches() -> Iterator[list[Any]]:
    """Launchers registered here have their processes killed and reaped at the end of the test."""
    launchers: list[Any] = []
    yield launchers
    for launcher in launchers:
        for run in launcher.runs:
            run.kill()
        launcher.close()


def screen_text(app: Any) -> str:
    """The current screen as plain text, as `App.export_screenshot` renders it for SVG."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def fake_python(directory: Path, code: str) -> str:
    """An executable that stands in for `python -m kerasmnist.cli ...`: a Python script running `code`."""
    import sys

    path = directory / "fake-python"
    path.write_text(f"#!{sys.executable}\n{code}\n")
    path.chmod(0o755)
    return str(path)


SLEEPER = """\
import signal, sys, time
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
print("ready", flush=True)
time.sleep(60)
"""
"""A fake `kerasmnist` run that waits for SIGINT, then exits 130 as the real one does.

It prints `ready` once its handler is set: wait for that (`wait_ready`) before signalling it.
"""


def starter(go: Path) -> str:
    """A fake `kerasmnist resume DIR` that writes the run's first event once the file `go` exists,
    then waits for SIGINT like `SLEEPER`."""
    return f"""\
import pathlib, signal, sys, time
from kerasmnist.events import EventWriter
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
print("ready", flush=True)
go = pathlib.Path({str(go)!r})
while not go.exists():
    time.sleep(0.02)
with EventWriter(pathlib.Path(sys.argv[4]) / "events.jsonl") as events:
    events.run_started({{"dataset": "mnist_sample", "model": "mlp"}}, plan={{"trials": 1, "epochs": 1}})
time.sleep(60)
"""


def wait_ready(run: Any, *, timeout: float = 10.0) -> None:
    """Waits until a fake run (`SLEEPER`, `starter`) has printed `ready`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while "ready" not in run.stdout.read_text(encoding="utf-8").split():
        if not run.alive:
            raise AssertionError(f"the fake run ended (status {run.returncode}) before it was ready")
        if time.monotonic() > deadline:
            raise AssertionError(f"the fake run was not ready after {timeout}s")
        time.sleep(0.02)


def usage_error(field_name: str, detail: str) -> str:
    """A fake `kerasmnist` that refuses its spec as the real one does: `error_details` of a
    `SpecError` of `field_name` as JSON on standard output, exit status 2."""
    document = error_details(SpecError(field_name, detail, source="runs/x/spec.toml"))
    return f"import json, sys\nprint(json.dumps({document!r}))\nsys.exit(2)"
