"""The runs list, opened on a runs directory of recorded runs (some of them damaged)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import NewRunScreen, RunScreen, RunsScreen

from tests.tui.conftest import drive, screen_text, wait_for, wait_for_screen


def _rows(app: KerasMnistApp) -> dict[str, list[str]]:
    table = app.screen.query_one("#runs-table")
    return {str(key.value).rsplit("/", 1)[-1]: [str(c) for c in table.get_row(key)] for key in table.rows}


def test_runs_list_shows_each_run_with_status_data_set_model_and_scores(runs_dir, recorded):
    app = KerasMnistApp(runs_dir)

    async def script(pilot):
        await wait_for(pilot, lambda: app.screen.query_one("#runs-table").row_count == 3, what="3 runs")
        rows = _rows(app)
        assert list(rows) == ["2026-interrupted", "2026-failed", "2026-finished"]  # newest first
        assert rows["2026-finished"][1:8] == ["finished", "mnist_sample", "mlp", "random", "3/3", "0.5900",
                                              "0.7912"]
        assert rows["2026-failed"][1] == "failed" and rows["2026-interrupted"][1] == "interrupted"
        assert rows["2026-interrupted"][5] == "1/3"
        assert "Runs in" in str(app.screen.query_one("#runs-title").content)

    drive(app, script)


def test_a_failed_run_shows_the_end_of_its_error_and_the_keys_open_runs_and_the_form(runs_dir, recorded):
    app = KerasMnistApp(runs_dir)

    async def script(pilot):
        table = app.screen.query_one("#runs-table")
        await wait_for(pilot, lambda: table.row_count == 3, what="3 runs")
        await pilot.press("down")  # the failed run
        await pilot.pause()
        detail = str(app.screen.query_one("#run-detail").content)
        assert "ValueError: Out of memory while building the model" in detail
        await pilot.press("enter")
        await wait_for_screen(pilot, RunScreen)
        assert app.screen.run_dir.name == "2026-failed"
        await pilot.press("escape")
        await wait_for_screen(pilot, RunsScreen)
        await pilot.press("n")
        await wait_for_screen(pilot, NewRunScreen)
        await pilot.press("escape")
        await wait_for_screen(pilot, RunsScreen)

    drive(app, script)


def test_an_empty_or_missing_runs_directory_invites_a_first_run(tmp_path):
    app = KerasMnistApp(tmp_path / "nothing-here")

    async def script(pilot):
        title = app.screen.query_one("#runs-title")
        await wait_for(pilot, lambda: "Press n" in str(title.content), what="the empty message")
        await pilot.press("c")  # nothing selected: nothing happens
        await pilot.press("q")
        await pilot.pause()

    drive(app, script)
    assert app.return_code == 0


def _copy(recorded, runs_dir, name: str, damage) -> Path:
    """A copy of the recorded finished run, damaged by `damage(run_dir)`."""
    path = runs_dir / name
    shutil.copytree(recorded["finished"].path, path)
    damage(path)
    return path


def _events_a_directory(run_dir: Path) -> None:
    (run_dir / "events.jsonl").unlink()
    (run_dir / "events.jsonl").mkdir()


def _bad_lines(run_dir: Path) -> None:
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as log:
        log.write('{"event": "epoch_ended", "trial_id": "0", "epoch": 1, "logs": [1]}\n'
                  '{"event": "confusion", "trial_id": "1", "split": "validation", "matrix": [[1], 2]}\n'
                  '{"event": "run_ended", "results": {"best_trial": [2], "test_accuracy": "high"}}\n')


def test_a_damaged_run_is_one_row_that_says_why_and_the_others_still_show(runs_dir, recorded):
    broken = _copy(recorded, runs_dir, "2026-broken", _events_a_directory)
    _copy(recorded, runs_dir, "2026-latin", lambda d: (d / "spec.toml").write_bytes(b'model = "\xe9"\n'))
    _copy(recorded, runs_dir, "2026-badjson", lambda d: (d / "results.json").write_text("[]"))
    noted = _copy(recorded, runs_dir, "2026-noted", _bad_lines)
    app = KerasMnistApp(runs_dir, poll_interval=0.1)

    async def script(pilot):
        table = app.screen.query_one("#runs-table")
        await wait_for(pilot, lambda: table.row_count == 7, what="7 runs")
        rows = _rows(app)
        assert [rows[name][1] for name in ("2026-broken", "2026-latin", "2026-badjson")] == ["damaged"] * 3
        assert rows["2026-finished"][1:8] == ["finished", "mnist_sample", "mlp", "random", "3/3", "0.5900",
                                              "0.7912"]
        assert rows["2026-noted"][1] == "finished"
        assert "3 damaged" in str(app.screen.query_one("#runs-title").content)

        table.move_cursor(row=table.get_row_index(str(broken)))
        await pilot.pause()
        detail = str(app.screen.query_one("#run-detail").content)
        assert "Damaged: events.jsonl: not a regular file but a directory" in detail
        await pilot.press("r")  # a damaged run is not resumed
        await pilot.pause()
        assert app.launcher.runs == []
        await pilot.press("enter")  # but it opens, saying what it cannot read
        screen = await wait_for_screen(pilot, RunScreen)
        await wait_for(pilot, lambda: "Cannot read the event log" in screen_text(app), what="the read error")
        await pilot.press("escape")
        await wait_for_screen(pilot, RunsScreen)

        table = app.screen.query_one("#runs-table")
        table.move_cursor(row=table.get_row_index(str(noted)))
        await pilot.pause()
        assert "Note: events.jsonl: 2 events read in part" in str(app.screen.query_one("#run-detail").content)
        await pilot.press("enter")
        screen = await wait_for_screen(pilot, RunScreen)
        await wait_for(pilot, lambda: screen.state.phase == "finished", what="the noted run's log")
        await wait_for(pilot, lambda: "Note: events.jsonl: 2 events read in part" in screen_text(app),
                       what="the note")
        assert app.is_running

    drive(app, script)
