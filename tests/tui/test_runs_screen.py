"""The runs list, opened on a runs directory of recorded runs."""

from __future__ import annotations

from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import NewRunScreen, RunScreen, RunsScreen

from tests.tui.conftest import drive, wait_for, wait_for_screen


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
