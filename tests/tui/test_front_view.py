"""The run view's front: trials by weights and objective, the front marked, the budgets drawn."""

from __future__ import annotations

import doctest

from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import RunScreen
from kerasmnist_tui.widgets import FrontView
from kerasmnist_tui.widgets import front as front_module
from kerasmnist_tui.widgets.front import BUDGET_MARK, FRONT_MARK, TRIAL_MARK, front_chart
from textual.widgets import TabbedContent

from kerasmnist.events import EventWriter
from kerasmnist.pareto import FrontTrial
from kerasmnist.runs.state import TrialStatus
from tests.helpers import write_search_run
from tests.tui.conftest import drive, screen_text, wait_for

TRIALS = [
    ("0", "COMPLETED", 0.71, 120, {"units": 2}),
    ("1", "PRUNED", 0.86, 400, {"units": 8}),
    ("2", "COMPLETED", 0.80, 900, {"units": 16}),  # beaten by trial 1
    ("3", "COMPLETED", 0.93, 2_500, {"units": 32}),
    ("4", "FAILED", None, 60_000, {"units": 1024}),  # over budget: not drawn
]
SPEC = {"max_params": 3_000, "overrides": {"budget": [150, 500]}}


def _open(runs_dir, name: str) -> KerasMnistApp:
    app = KerasMnistApp(runs_dir, poll_interval=0.1)
    app.get_default_screen = lambda: RunScreen(runs_dir / name)  # type: ignore[method-assign]
    return app


def test_docstring_examples_run():
    result = doctest.testmod(front_module)
    assert result.failed == 0 and result.attempted > 0


def test_the_chart_marks_the_front_above_the_other_trials_and_labels_each_budget():
    trials = [FrontTrial("", str(i), params, score, TrialStatus.COMPLETED)
              for i, (params, score) in enumerate([(100, 0.5), (1_000, 0.9), (10_000, 0.7)])]
    lines = front_chart(trials, trials[:2], [300], 60, 12, title="t").plain.splitlines()
    plot = lines[1:-2]
    assert sum(line.count(FRONT_MARK) for line in plot) == 2
    assert sum(line.count(TRIAL_MARK) for line in plot) == 1
    assert FRONT_MARK in plot[0] and FRONT_MARK in plot[-1]  # the best top, the worst at the bottom
    column = lines[-1].index("300")
    assert all(line[column] == BUDGET_MARK for line in plot[::2])
    assert lines[-2][column] == "┴"
    assert lines[-1].split() == ["100", "300", "10k"]
    assert any("\u2800" < char <= "\u28ff" for line in plot for char in line)  # the step line


def test_the_front_view_marks_the_front_and_draws_the_budgets(runs_dir):
    write_search_run(runs_dir / "search", TRIALS, logged_spec=SPEC)
    app = _open(runs_dir, "search")

    async def script(pilot):
        view = app.screen.query_one(FrontView)
        await wait_for(pilot, lambda: len(view.trials) == 4, what="4 trials with weights")
        tabs = app.screen.query_one(TabbedContent)
        await pilot.press("p")
        await pilot.pause()
        assert tabs.active == "front-pane"
        assert [(t.trial_id, t.status) for t in view.front] == [("0", "COMPLETED"), ("1", "PRUNED"),
                                                               ("3", "COMPLETED")]
        assert view.budgets == [150, 500, 3_000]
        assert {b: t and t.trial_id for b, t in view.picks.items()} == {150: "0", 500: "1", 3_000: "3"}
        text = screen_text(app)
        chart = text[text.index("Front ·"):text.index("Front: 3 of 4 trials")]
        assert chart.count(FRONT_MARK) == 3 + 1 and chart.count(TRIAL_MARK) == 1 + 1  # with the legend
        assert chart.count(BUDGET_MARK) > 3 * 3  # three dashed lines
        tick_line = next(line for line in chart.splitlines() if "3k" in line)
        assert "150" in tick_line and "500" in tick_line
        listing = text[text.index("Front: 3 of 4 trials"):]
        for trial_id in ("0", "1", "3"):
            assert f"{FRONT_MARK} trial {trial_id} " in listing
        assert "trial 2 " not in listing and "best under 500: trial 1 (0.8600)" in listing
        await pilot.press("p")  # back to the plot shown before
        await pilot.pause()
        assert tabs.active == "curves-pane"
        assert "p Front" in screen_text(app).replace("  ", " ")  # the footer offers the key

    drive(app, script)


def test_the_front_follows_the_log_as_trials_end(runs_dir):
    run_dir = write_search_run(runs_dir / "live", TRIALS[:1] + [("1", "RUNNING", None, None, {})],
                               logged_spec={"max_params": 1_000})
    app = _open(runs_dir, "live")

    async def script(pilot):
        view = app.screen.query_one(FrontView)
        await wait_for(pilot, lambda: len(view.trials) == 1, what="the first trial")
        await pilot.press("p")
        assert [t.trial_id for t in view.front] == ["0"] and view.picks[1_000].trial_id == "0"
        with EventWriter(run_dir / "events.jsonl") as events:
            events.trial_ended("1", status="COMPLETED", score=0.95, params=800)
        await wait_for(pilot, lambda: len(view.front) == 2, what="trial 1 on the front")
        assert view.picks[1_000].trial_id == "1"
        with EventWriter(run_dir / "events.jsonl") as events:
            events.trial_started("2", {"units": 1})
            events.trial_ended("2", status="COMPLETED", score=0.99, params=100)  # beats both
        await wait_for(pilot, lambda: [t.trial_id for t in view.front] == ["2"], what="trial 2 alone")
        await pilot.pause()
        assert "Front: 1 of 3 trials" in screen_text(app)

    drive(app, script)


def test_a_run_without_finished_trials_says_when_the_front_appears(runs_dir):
    write_search_run(runs_dir / "young", [("0", "RUNNING", None, None, {})], logged_spec=SPEC)
    app = _open(runs_dir, "young")

    async def script(pilot):
        await pilot.pause(0.2)
        await pilot.press("p")
        await pilot.pause()
        text = screen_text(app)
        assert "The front appears when the first trial ends" in text
        assert "Budgets: 150, 500, 3,000 weights." in text

    drive(app, script)
