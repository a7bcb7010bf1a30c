"""The run view's `w` key writes the run's HTML report (`kerasmnist report`) without blocking."""

from __future__ import annotations

from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import RunScreen

from kerasmnist.report import REPORT_FILE
from tests.tui.conftest import drive, fake_python, record_run, wait_for, wait_for_screen


def _messages(app):
    return [str(n.message) for n in app._notifications]


def test_w_writes_the_report_of_the_run_shown_and_says_where(runs_dir, monkeypatch):
    recorded = record_run(runs_dir, "2026-finished", monkeypatch)
    app = KerasMnistApp(runs_dir, poll_interval=0.1)

    async def script(pilot):
        app.open_run(recorded.path)
        await wait_for_screen(pilot, RunScreen)
        await pilot.press("w")
        await wait_for(pilot, lambda: any("Report written" in m for m in _messages(app)), timeout=60,
                       what="the report's notification", context=lambda: "\n".join(_messages(app)))

    drive(app, script)
    report = recorded.path / REPORT_FILE
    assert f"Report written: {report}" in _messages(app)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Run 2026-finished" in text


def test_w_says_why_when_no_report_can_be_written(runs_dir, monkeypatch, tmp_path):
    recorded = record_run(runs_dir, "2026-finished", monkeypatch)
    refuse = 'import json, sys\nprint(json.dumps({"error": "The run is damaged: results.json"}))\nsys.exit(1)'
    app = KerasMnistApp(runs_dir, poll_interval=0.1)
    app.launcher.python = fake_python(tmp_path, refuse)

    async def script(pilot):
        app.open_run(recorded.path)
        await wait_for_screen(pilot, RunScreen)
        await pilot.press("w")
        await wait_for(pilot, lambda: any("No report" in m for m in _messages(app)), timeout=20,
                       what="the error's notification")

    drive(app, script)
    assert "No report: The run is damaged: results.json" in _messages(app)
    assert not (recorded.path / REPORT_FILE).exists()
