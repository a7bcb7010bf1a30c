"""Tests of `kerasmnist train`, `search`, `resume` and `runs`: output and exit status."""

from __future__ import annotations

import json

import pytest

from kerasmnist.cli import build_parser, main
from kerasmnist.cli.runs import spec_from_args
from kerasmnist.recipes import recipe
from kerasmnist.runs import RunSpec, read_results

QUICK = ["--validation", "200", "--limit", "400", "--epochs", "1", "--set", "num_layers=1",
         "--set", "units=16"]


def run_json(capsys, *args):
    status = main([*args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def trained(runs_dir):
    """One finished training run, made through the command line."""
    run_dir = runs_dir / "trained"
    assert main(["train", *QUICK, "--run-dir", str(run_dir), "--quiet"]) == 0
    return run_dir


def test_train_prints_the_table_and_the_confusion_matrix(tmp_path, capsys):
    status = main(["train", *QUICK, "--run-dir", str(tmp_path / "r"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    results = read_results(tmp_path / "r")
    test = next(s for s in results["splits"] if s["split"] == "test")
    assert f"{test['accuracy']:.4f}" in out and "validation" in out
    assert "Test confusion matrix" in out and "Top confusions:" in out
    assert f"Saved in {tmp_path / 'r'}" in out.replace("\n", "")


def test_train_json_is_the_result_and_the_spec_comes_from_the_flags(tmp_path, capsys):
    status, result = run_json(capsys, "train", *QUICK, "--seed", "3", "--run-dir",
                              str(tmp_path / "r"), "--quiet")
    assert status == 0
    assert result["spec"]["seed"] == 3 and result["spec"]["overrides"] == {"num_layers": 1,
                                                                           "units": 16}
    assert result["params"] == 12_730 and 0.0 <= result["test_accuracy"] <= 1.0
    assert RunSpec.from_toml(tmp_path / "r" / "spec.toml").seed == 3


def test_a_config_file_is_read_and_flags_override_it(tmp_path, capsys):
    config = tmp_path / "spec.toml"
    config.write_text(RunSpec(validation=200, limit=300, epochs=2, seed=5,
                              overrides={"num_layers": 1, "units": 8}).to_toml())
    status, result = run_json(capsys, "train", "--config", str(config), "--epochs", "1",
                              "--run-dir", str(tmp_path / "r"), "--quiet")
    assert status == 0 and result["spec"]["epochs"] == 1 and result["spec"]["seed"] == 5
    assert result["params"] == 784 * 8 + 8 + 8 * 10 + 10


def test_search_runs_trials_and_shows_the_leaderboard(tmp_path, capsys):
    status = main(["search", *QUICK[:-2], "--set", "units=[8, 16, 32]", "--trials", "2",
                   "--run-dir", str(tmp_path / "s")])
    captured = capsys.readouterr()
    assert status == 0
    assert "Trials by val_accuracy" in captured.out and "units_0" in captured.out
    assert "trial 0: COMPLETED" in captured.err and "trial 1: COMPLETED" in captured.err
    assert len(read_results(tmp_path / "s")["trials"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "0"], "field `epochs`"),
        (["train", "--set", "wings=2"], "Invalid override `wings`"),
        (["train", "--set", "units"], "--set"),
        (["train", "--dataset", "cifar"], "field `dataset`"),
        (["search", "--model", "lenet5"], "no hyperparameters to search"),
        (["search", "--workers", "0"], "--workers"),
        (["train", "--config", "missing.toml"], "--config"),
        (["resume", "nowhere"], "spec.toml"),
        (["runs", "show", "nowhere"], "spec.toml"),
    ],
)
def test_bad_usage_exits_with_2_and_names_the_problem(tmp_path, capsys, args, message):
    status = main([*args, "--json"] if args[0] != "runs" else args)
    captured = capsys.readouterr()
    assert status == 2
    assert message in captured.out + captured.err


def test_a_train_config_with_a_search_is_sent_to_the_search_command(tmp_path, capsys):
    config = tmp_path / "spec.toml"
    config.write_text(RunSpec(search="random").to_toml())
    assert main(["train", "--config", str(config)]) == 2
    assert "use `kerasmnist search`" in capsys.readouterr().err


def test_argparse_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--epochs", "many"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["search", "--search", "evolution"])
    assert caught.value.code == 2


def test_a_failed_run_exits_with_1_and_says_why(tmp_path, capsys):
    status, result = run_json(capsys, "train", *QUICK, "--max-params", "100", "--run-dir",
                              str(tmp_path / "r"), "--quiet")
    assert status == 1 and result["status"] == "failed"
    assert "over the budget of 100" in result["error"]


def test_runs_list_and_show_describe_a_finished_run(trained, runs_dir, capsys):
    status, listing = run_json(capsys, "runs", "list", "--runs-dir", str(runs_dir))
    assert status == 0
    entry = next(r for r in listing["runs"] if r["path"] == str(trained))
    assert entry["status"] == "finished" and entry["trials_done"] == 1
    assert entry["test_accuracy"] == pytest.approx(read_results(trained)["test_accuracy"])
    assert main(["runs", "list", "--runs-dir", str(runs_dir)]) == 0
    text = capsys.readouterr().out
    assert "trained" in text and "finished" in text and "mnist_sample" in text
    status, shown = run_json(capsys, "runs", "show", str(trained))
    assert status == 0 and shown["status"] == "finished" and shown["trials"][0]["trial_id"] == "r0"
    assert main(["runs", "show", str(trained)]) == 0
    assert "finished" in capsys.readouterr().out


def test_runs_list_of_an_empty_directory(tmp_path, capsys):
    assert main(["runs", "list", "--runs-dir", str(tmp_path / "none")]) == 0
    assert "No runs in" in capsys.readouterr().out


def test_resume_of_a_finished_run_reports_it_again(trained, capsys):
    status, result = run_json(capsys, "resume", str(trained), "--quiet")
    assert status == 0 and result["test_accuracy"] == pytest.approx(
        read_results(trained)["test_accuracy"])


def test_the_default_run_directory_is_named_after_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, result = run_json(capsys, "train", *QUICK, "--model", "mlp", "--quiet")
    assert status == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.endswith("-mnist_sample-mlp") and result["run_dir"] == str(
        run_dir.relative_to(tmp_path))


def test_search_workers_goes_through_the_distributed_runner(tmp_path, capsys, monkeypatch):
    from kerasmnist.runs import engine

    calls = []

    def fake_run_distributed(spec, run_dir, *, workers, listeners):
        calls.append((spec.search, spec.trials, workers))
        raise engine.RunError("no workers here")

    monkeypatch.setattr(engine, "run_distributed", fake_run_distributed)
    status, result = run_json(capsys, "search", "--trials", "4", "--workers", "2", "--run-dir",
                              str(tmp_path / "r"), "--quiet")
    assert calls == [("random", 4, 2)]
    assert status == 1 and result == {"status": "failed", "run_dir": str(tmp_path / "r"),
                                      "error": "no workers here"}


@pytest.mark.parametrize(("flags", "config_epochs", "epochs"), [
    ([], None, recipe("mnist_cnn").epochs),  # a tuned preset trains as its recipe says
    (["--epochs", "2"], None, 2),
    ([], 3, 3),  # so does a config file that sets epochs
])
def test_a_preset_takes_its_epochs_from_its_recipe(tmp_path, flags, config_epochs, epochs):
    argv = ["train", "--model", "mnist_cnn", *flags]
    if config_epochs is not None:
        config = tmp_path / "spec.toml"
        config.write_text(f'model = "mnist_cnn"\nepochs = {config_epochs}\n')
        argv += ["--config", str(config)]
    assert spec_from_args(build_parser().parse_args(argv)).epochs == epochs


def test_train_replicates_report_each_test_accuracy_and_the_median(tmp_path, capsys):
    status, result = run_json(capsys, "train", "--model", "avgpool5_dense", "--validation", "200",
                              "--limit", "300", "--epochs", "1", "--replicates", "3",
                              "--run-dir", str(tmp_path / "r"), "--quiet")
    assert status == 0
    values = list(result["replicates"]["values"].values())
    assert len(values) == 3 and result["replicates"]["median"] == sorted(values)[1]
    assert "median" in (tmp_path / "r" / "results.txt").read_text()
