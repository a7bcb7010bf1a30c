"""Tests of `kerasmnist.report` and `kerasmnist report`: a run as one self-contained HTML file."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import pytest

from kerasmnist.cli import main
from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.report import MISTAKES_SHOWN, REPORT_FILE, report_html, write_report
from kerasmnist.runs.spec import RunSpec
from tests.helpers import write_search_run

SEARCH = ["search", "--validation", "200", "--limit", "300", "--epochs", "2", "--trials", "4",
          "--set", "num_layers=1", "--set", "units=[8, 16, 32]", "--set", "optimizer=adam",
          "--set", "batch_size=64", "--trials-per-process", "0", "--quiet"]

HOSTILE = "<script>alert(1)</script>"


def finished_search(run_dir):
    """A real, finished random search: 4 trials of 2 epochs on 300 sample images."""
    assert main([*SEARCH, "--run-dir", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    return finished_search(tmp_path_factory.mktemp("report") / "search")


@pytest.fixture(scope="module")
def page(search_run):
    return report_html(search_run)


class Page(HTMLParser):
    """The tags of a page: every start tag with its attributes, and the section ids."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, tag):
        return [attrs for t, attrs in self.tags if t == tag]

    def sections(self):
        return [attrs["id"] for attrs in self.all("section")]


def section(text, anchor):
    """The HTML of one section."""
    start = text.index(f'<section id="{anchor}">')
    return text[start:text.index("</section>", start)]


def decode_png(src):
    from matplotlib.image import imread

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return imread(io.BytesIO(base64.b64decode(src[len(prefix):], validate=True)), format="png")


def assert_self_contained(text):
    parsed = Page(text)
    assert not parsed.all("link") and not parsed.all("script") and not parsed.all("iframe")
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "srcset", "data", "poster", "action"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:80])
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "url(" not in lowered and "@import" not in lowered and "@font-face" not in lowered


# -- a finished search ------------------------------------------------------------------------


def test_a_finished_search_has_every_section_with_its_data(search_run, page):
    pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
    parsed = Page(page)
    assert parsed.sections() == ["spec", "results", "leaderboard", "curves", "confusion", "mistakes",
                                 "importance", "parallel", "front"]
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "<h1>Run search</h1>" in page and "<dd>finished</dd>" in page
    results = json.loads((search_run / "results.json").read_text())
    splits = section(page, "results")
    for split in results["splits"]:
        assert f"<td>{split['accuracy']:.4f}</td>" in splits
    leaderboard = section(page, "leaderboard")
    assert leaderboard.count("<tr") == 1 + 4 and "units_0" in leaderboard
    assert f'<tr class="mark"><td class="l">1</td><td class="l">{results["best_trial"]}</td>' in leaderboard
    assert "The same in every trial: " in leaderboard and "optimizer = adam" in leaderboard
    confusion = section(page, "confusion")
    assert confusion.count("<th scope=\"row\">") == 10 and "macro average" in confusion
    for name in ("precision", "recall", "F1"):
        assert f">{name}</th>" in confusion
    assert "fANOVA" in section(page, "importance")
    for anchor, images in (("curves", 1), ("parallel", 2), ("front", 1)):
        assert section(page, anchor).count('<img class="plot"') == images, anchor
    mistakes = section(page, "mistakes")
    assert 0 < mistakes.count("<figure>") <= MISTAKES_SHOWN and "test images misclassified" in mistakes
    assert 'class="note"' not in page


def test_every_image_is_an_inline_png_that_decodes(page):
    pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
    images = Page(page).all("img")
    assert len(images) >= 5
    for attrs in images:
        pixels = decode_png(attrs["src"])
        assert pixels.ndim in (2, 3) and min(pixels.shape[:2]) >= 28 and pixels.std() > 0.01
        assert attrs.get("alt")


def test_the_report_refers_to_nothing_outside_itself(page):
    assert_self_contained(page)
    assert "<style>" in page and "@media print" in page and "@media (max-width" in page


def test_write_report_writes_the_run_directory_s_report_html_by_default(tmp_path):
    run_dir = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 100, {})])
    path = write_report(run_dir)
    assert path == run_dir / REPORT_FILE and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".report")]  # no temporary left
    assert write_report(run_dir, tmp_path / "deep" / "r.html") == tmp_path / "deep" / "r.html"


# -- runs without everything ---------------------------------------------------------------------


def hostile_results(run_dir, class_names):
    """A results.json as the engine writes it, for a run made without training."""
    n = len(class_names)
    confusion = [[5 if i == j else 1 for j in range(n)] for i in range(n)]
    (run_dir / "results.json").write_text(json.dumps({
        "run_dir": str(run_dir), "spec": RunSpec(search="random").to_dict(), "best_trial": "0",
        "params": 100, "best_hyperparameters": {}, "replicates": None, "trials": [],
        "splits": [{"split": "test", "examples": 5 * n + n * (n - 1), "loss": 0.5, "accuracy": 0.6,
                    "error_rate": 40.0}],
        "class_names": class_names, "confusion": confusion, "top_confusions": []}), encoding="utf-8")


def test_hostile_names_and_values_are_escaped(tmp_path):
    trials = [(HOSTILE, "COMPLETED", 0.9, 100, {HOSTILE: "<img src=x onerror=alert(1)>", "units": 8}),
              ("1", "COMPLETED", 0.8, 200, {HOSTILE: "&amp;", "units": 16})]
    run_dir = write_search_run(tmp_path / "run", trials,
                               epochs={HOSTILE: [{"val_accuracy": 0.5, "loss": 1.0}]})
    hostile_results(run_dir, ["<b>zero</b>", "one & two", '"quoted"'])
    text = report_html(run_dir)
    assert HOSTILE not in text and "<img src=x" not in text and "<b>zero" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&amp;amp;" in text
    assert "&lt;b&gt;zero&lt;/b&gt;" in text and "&quot;quoted&quot;" in text
    assert_self_contained(text)
    assert all(attrs["src"].startswith("data:image/png;base64,") for attrs in Page(text).all("img"))
    assert "has no best_model.keras" in section(text, "mistakes")


def test_a_running_search_gets_a_report_with_a_note_in_each_empty_section(tmp_path):
    run_dir = write_search_run(tmp_path / "run", [("0", "RUNNING", None, None, {"units": 8})],
                               finished=False)
    text = report_html(run_dir)
    assert Page(text).sections()[-1] == "front" and "<dd>interrupted</dd>" in text
    for anchor, note in (("results", "No results yet"), ("confusion", "No test confusion matrix yet"),
                         ("mistakes", "No final model yet"), ("curves", "No epoch has ended yet"),
                         ("importance", "No importance"), ("parallel", "Fewer than two trials"),
                         ("front", "No trial has ended")):
        assert note in section(text, anchor), anchor
    assert_self_contained(text)


def test_a_new_training_run_has_no_front(tmp_path):
    (tmp_path / "spec.toml").write_text(RunSpec().to_toml(), encoding="utf-8")
    text = report_html(tmp_path)
    assert "front" not in Page(text).sections() and "No trial has started yet" in text


def test_a_model_that_cannot_be_loaded_is_a_note(tmp_path):
    run_dir = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 100, {})])
    hostile_results(run_dir, ["a", "b"])
    (run_dir / "best_model.keras").write_bytes(b"not a zip archive")
    assert "not a zip archive" in section(report_html(run_dir), "mistakes")


def test_without_matplotlib_the_report_says_which_extra_draws_the_plots(search_run, monkeypatch):
    from kerasmnist import plots

    def missing(*args, **kwargs):
        raise ImportError('kerasmnist.plots needs matplotlib: pip install "kerasmnist[plots]"')

    monkeypatch.setattr(plots, "_figure", missing)
    text = report_html(search_run)
    assert '<img class="plot"' not in text
    for anchor in ("curves", "parallel", "front"):
        assert "kerasmnist[plots]" in section(text, anchor), anchor
    assert "<figure>" in section(text, "mistakes") and "macro average" in text


def test_a_damaged_or_missing_run_is_refused(tmp_path):
    run_dir = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 100, {})])
    (run_dir / "results.json").write_text("{", encoding="utf-8")
    with pytest.raises(RunError, match=r"is damaged: results\.json: not valid JSON"):
        report_html(run_dir)
    with pytest.raises(InvalidArgumentError, match="spec.toml"):
        report_html(tmp_path / "nowhere")


# -- the command ---------------------------------------------------------------------------------


def test_report_command_writes_run_report_html_and_prints_its_path(tmp_path, capsys):
    run_dir = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 100, {})])
    assert main(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / REPORT_FILE)
    assert (run_dir / REPORT_FILE).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    output = tmp_path / "out" / "r.html"
    assert main(["report", str(run_dir), "-o", str(output), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["report"] == str(output) and document["bytes"] == output.stat().st_size


def test_report_command_exit_status_of_a_damaged_run_a_missing_one_and_a_bad_output(tmp_path, capsys):
    run_dir = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 100, {})])
    assert main(["report", str(run_dir), "-o", str(tmp_path)]) == 2
    assert "`--output`" in capsys.readouterr().err
    (run_dir / "events.jsonl").unlink()
    (run_dir / "events.jsonl").mkdir()
    assert main(["report", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert err == f"kerasmnist: error: The run {run_dir} is damaged: events.jsonl: not a regular file " \
                  "but a directory\n"
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "spec.toml" in capsys.readouterr().err
