"""`python -m kerasmnist_tui.mistakes`: the library's mistakes of a run's model, as one JSON document."""

from __future__ import annotations

import json

import numpy as np
from kerasmnist_tui.mistakes import MistakeReport, MistakesError, main

from kerasmnist import load_dataset, presets
from kerasmnist.errors import KerasMnistError
from kerasmnist.evaluation import find_mistakes
from kerasmnist.runs.spec import RunSpec


def _run_dir(tmp_path, *, with_model: bool):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "spec.toml").write_text(RunSpec(dataset="mnist_sample").to_toml(), encoding="utf-8")
    model = presets.build("logistic_regression")
    if with_model:
        model.save(run_dir / "best_model.keras")
    return run_dir, model


def test_mistakes_error_is_the_library_error():
    assert issubclass(MistakesError, KerasMnistError) and issubclass(MistakesError, RuntimeError)


def test_main_prints_the_library_mistakes_with_their_pixels(tmp_path, capsys):
    run_dir, model = _run_dir(tmp_path, with_model=True)
    assert main([str(run_dir), "--top", "5"]) == 0
    report = MistakeReport.from_dict(json.loads(capsys.readouterr().out))
    dataset = load_dataset("mnist_sample", validation=0)
    expected = find_mistakes(model, dataset, top=5)
    assert report.errors == expected.errors and report.examples == 1000
    assert [m.index for m in report.mistakes] == expected.indices.tolist()
    first = report.mistakes[0]
    assert first.true != first.predicted
    assert first.true == dataset.class_names[int(dataset.y_test[first.index])]
    assert np.array_equal(first.image, dataset.x_test[first.index])


def test_main_reports_a_run_without_a_model_as_an_error_document(tmp_path, capsys):
    run_dir, _ = _run_dir(tmp_path, with_model=False)
    assert main([str(run_dir)]) == 1
    assert "has no best_model.keras yet" in json.loads(capsys.readouterr().out)["error"]
