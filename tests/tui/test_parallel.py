"""The run view's hyperparameters tab: importance over the trials in parallel coordinates."""

from __future__ import annotations

import doctest

from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import RunScreen
from kerasmnist_tui.widgets import parallel as parallel_module
from kerasmnist_tui.widgets.parallel import HyperparametersView, importance_table, parallel_chart
from textual.widgets import TabbedContent

from kerasmnist.coordinates import parallel_coordinates
from kerasmnist.events import EventWriter
from kerasmnist.importance import Importance, RunImportance
from kerasmnist.runs.trials import TrialState, TrialStatus
from tests.helpers import write_search_run
from tests.tui.conftest import drive, screen_text, wait_for

TRIALS = [
    ("0", "COMPLETED", 0.62, 1_000, {"learning_rate": 1e-4, "optimizer": "sgd", "units": 32}),
    ("1", "COMPLETED", 0.91, 2_000, {"learning_rate": 3e-3, "optimizer": "adam", "units": 64}),
    ("2", "COMPLETED", 0.75, 4_000, {"learning_rate": 1e-2, "optimizer": "adam", "units": 128}),
    ("3", "COMPLETED", 0.55, 8_000, {"learning_rate": 3e-2, "optimizer": "sgd", "units": 256}),
    ("4", "COMPLETED", 0.80, 2_000, {"learning_rate": 1e-3, "optimizer": "rmsprop", "units": 64}),
    ("5", "FAILED", None, None, {"learning_rate": 1e-1, "optimizer": "sgd", "units": 512}),
]


def _open(runs_dir, name: str) -> KerasMnistApp:
    app = KerasMnistApp(runs_dir, poll_interval=0.1)
    app.get_default_screen = lambda: RunScreen(runs_dir / name)  # type: ignore[method-assign]
    return app


def _trial(trial_id: str, score: float, **hyperparameters) -> TrialState:
    return TrialState(trial_id, hyperparameters, TrialStatus.COMPLETED, score)


def test_docstring_examples_run():
    result = doctest.testmod(parallel_module)
    assert result.failed == 0 and result.attempted > 0


def _styles_at(text, offset: int) -> list[str]:
    return [str(span.style) for span in text.spans if span.start <= offset < span.end]


def test_the_chart_names_each_axis_and_puts_the_best_trial_on_top_in_bold():
    chart = parallel_coordinates([_trial("a", 0.2, units=8, optimizer="sgd"),
                                  _trial("b", 0.9, units=64, optimizer="adam"),
                                  _trial("c", 0.5, units=32, optimizer="adam")], "val_accuracy")
    text = parallel_chart(chart, 60, 14, title="Chart")
    lines = text.plain.splitlines()
    assert len(lines) == 14 and lines[0].startswith("Chart") and "worst" in lines[0]
    assert {"units", "val_accuracy"} <= set(lines[1].split()) and "optimizer" in lines[2]
    plot = lines[3:]
    axes = [c for c in range(len(plot[0])) if all(len(row) > c and row[c] in "│●" for row in plot)]
    assert len(axes) == 3
    assert [plot[0][c] for c in axes] == ["●"] * 3  # b's 64 units, a's sgd, b's 0.9
    assert [plot[-1][c] for c in axes] == ["●"] * 3  # a's 8 units, adam (b, c), a's 0.2
    assert plot[0][axes[0] + 1:].startswith("64") and plot[-1][axes[1] + 1:].startswith("adam")
    assert plot[0][axes[2] + 1:].startswith("0.9") and plot[-1][axes[2] + 1:].startswith("0.2")
    assert any("\u2800" < char <= "\u28ff" for line in plot for char in line)  # braille lines
    top_right = text.plain.index(plot[0]) + axes[2]
    assert "bold #fde725" in _styles_at(text, top_right)  # the best: the brightest, bold, on top
    bottom_right = text.plain.index(plot[-1]) + axes[2]
    assert _styles_at(text, bottom_right)[-1] == "#6a51a3"  # the worst: the darkest


def test_the_chart_of_a_loss_colours_the_lowest_best():
    chart = parallel_coordinates([_trial("a", 0.2, units=8), _trial("b", 0.9, units=64)], "val_loss")
    assert chart.best is not None and chart.best.trial_id == "a"
    text = parallel_chart(chart, 40, 10)
    bottom = text.plain.splitlines()[-1]
    assert bottom.count("●") == 2  # the best (lowest loss) lies low on both axes, drawn last
    spans = [text.plain[s.start:s.end] for s in text.spans if str(s.style) == "bold #fde725"]
    assert "●" in "".join(spans)


def test_the_importance_table_lists_shares_and_bars_or_says_why_not():
    shares = {f"h{i}": share for i, share in enumerate([0.5, 0.2, 0.15, 0.1, 0.05])}
    result = RunImportance(Importance("val_accuracy", "fANOVA (random forest, 64 trees)", 12, shares), None)
    lines = importance_table(result, 60, rows=3).plain.splitlines()
    assert lines[0] == "Importance of val_accuracy · fANOVA (random forest, 64 trees), 12 trials"
    assert [line.split()[:2] for line in lines[1:4]] == [["h0", "50.0%"], ["h1", "20.0%"], ["h2", "15.0%"]]
    assert lines[1].count("█") == 10 and lines[-1].strip() == "and 2 more"
    assert importance_table(None, 60).plain == "Importance: computing…"
    assert importance_table(RunImportance(None, "the run is not a search"), 60).plain == (
        "No importance: the run is not a search.")


def test_h_shows_the_tab_whose_importance_and_chart_follow_trials_as_they_end(runs_dir):
    run_dir = write_search_run(runs_dir / "search", TRIALS, finished=False)
    app = _open(runs_dir, "search")

    async def script(pilot):
        view = app.screen.query_one(HyperparametersView)
        await wait_for(pilot, lambda: view.coordinates is not None and len(view.coordinates.lines) == 5,
                       what="5 trials with a score")
        assert view._importance_key is None  # not computed while the tab is hidden
        tabs = app.screen.query_one(TabbedContent)
        await pilot.press("h")
        await wait_for(pilot, lambda: view.importance is not None, what="the importance")
        assert tabs.active == "hyperparameters-pane"
        assert view.importance.importance is not None and view.importance.importance.trials == 5
        assert set(view.coordinates.hyperparameters) == {"learning_rate", "optimizer", "units"}
        assert view.coordinates.hyperparameters == [n for n in view.importance.importance.shares]
        text = screen_text(app)
        assert "Importance of val_accuracy" in text and "best trial 1" in text
        for name in ("learning_rate", "optimizer", "units", "val_accuracy", "rmsprop"):
            assert name in text, name
        with EventWriter(run_dir / "events.jsonl") as writer:
            writer.trial_started("6", {"learning_rate": 5e-3, "optimizer": "nadam", "units": 96})
            writer.trial_ended("6", status="COMPLETED", score=0.95, params=3_000)
        await wait_for(pilot, lambda: view.coordinates.best is not None
                       and view.coordinates.best.trial_id == "6", what="the new best trial")
        await wait_for(pilot, lambda: view.importance is not None and view.importance.importance is not None
                       and view.importance.importance.trials == 6, what="the importance of 6 trials")
        await pilot.pause()
        text = screen_text(app)
        assert "nadam" in text and "3/3 hyperparameters by importance · best trial 6" in text
        await pilot.press("h")  # back to the plot shown before
        await pilot.pause()
        assert tabs.active == "curves-pane"

    drive(app, script)


def test_a_run_that_is_not_a_search_and_one_with_one_trial_say_so(runs_dir):
    same = {"learning_rate": 1e-3, "units": 64}
    write_search_run(runs_dir / "replicates", [(str(i), "COMPLETED", 0.8 + i / 100, 1_000, dict(same))
                                               for i in range(3)], logged_spec={"search": "none"})
    write_search_run(runs_dir / "one", [TRIALS[0], ("1", "RUNNING", None, None, TRIALS[1][4])],
                     finished=False)
    for name, words in (("replicates", ["No hyperparameter differs between the 3 trials",
                                        "No importance: the run is not a search."]),
                        ("one", ["appear when two trials have ended with a score (1 so far)",
                                 "No importance: 1 usable trial"])):
        app = _open(runs_dir, name)

        async def script(pilot, app=app, words=words):
            view = app.screen.query_one(HyperparametersView)
            await pilot.press("h")
            await wait_for(pilot, lambda: view.importance is not None, what="the importance's answer")
            await pilot.pause()
            text = " ".join(view.render().plain.split())  # the screen has the trials' border beside
            for phrase in words:
                assert phrase in text, phrase

        drive(app, script)
