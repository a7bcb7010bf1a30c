"""Tests of `kerasmnist train`, `search`, `resume` and `runs`: output and exit status."""

from __future__ import annotations

import json

import pytest

from kerasmnist.cli import build_parser, main
from kerasmnist.cli.runs import spec_from_args
from kerasmnist.recipes import recipe
from kerasmnist.runs import RunSpec, read_results
from kerasmnist.runs.rundir import run_state

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
    fixed = ["activation=relu", "kernel_initializer=glorot_uniform", "optimizer=adam", "batch_size=32"]
    status = main(["search", *QUICK[:-2], "--set", "units=[8, 16, 32]", "--trials", "2",
                   *[arg for setting in fixed for arg in ("--set", setting)],  # the columns: 5 at most
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


def test_train_records_and_prints_each_replicate_s_training_time(tmp_path, capsys):
    status = main(["train", "--model", "avgpool5_dense", "--validation", "200", "--limit", "300",
                   "--epochs", "2", "--replicates", "2", "--run-dir", str(tmp_path / "r"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    trials = {t["trial_id"]: t for t in read_results(tmp_path / "r")["trials"]}
    for trial_id in ("r0", "r1"):
        cpu, wall = trials[trial_id]["training_cpu_seconds"], trials[trial_id]["training_seconds"]
        # The fit's time covers its epochs' (the event log's), and not the process's start-up.
        epochs = run_state(tmp_path / "r").trials[trial_id]
        assert 0 < epochs.seconds <= wall and cpu > 0
        assert f"{trial_id} {cpu:.1f} CPU-s in {wall:.1f} s" in out.replace("\n", "")
    results_text = (tmp_path / "r" / "results.txt").read_text()
    assert "Training time (start-up, loading and test excluded): r0 " in results_text


def test_a_search_s_trials_have_no_training_time_line(tmp_path, capsys):
    status = main(["search", "--model", "mlp", "--search", "random", "--trials", "2", "--epochs", "1",
                   "--validation", "200", "--limit", "300", "--set", "num_layers=1", "--set", "units=8",
                   "--run-dir", str(tmp_path / "s"), "--quiet"])
    assert status == 0
    assert "Training time" not in capsys.readouterr().out


# -- runs pareto: on hand-made run directories, no training ---------------------------------

SEARCH_TRIALS = [
    ("0", "COMPLETED", 0.71, 120, {"units": 2, "activation": "relu"}),
    ("1", "PRUNED", 0.86, 400, {"units": 8, "activation": "relu"}),
    ("2", "COMPLETED", 0.80, 900, {"units": 16, "activation": "relu"}),  # beaten by 1
    ("3", "COMPLETED", 0.93, 2_500, {"units": 32, "activation": "relu"}),
    ("4", "FAILED", None, 50, {"units": 1, "activation": "relu"}),
]


def _rows(text: str) -> list[list[str]]:
    """The cells of a printed table's lines, without the box drawing."""
    return [line.replace("│", " ").split() for line in text.splitlines()]


def test_runs_pareto_prints_the_front_and_the_best_trial_under_each_budget(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "search", SEARCH_TRIALS)
    assert main(["runs", "pareto", str(run_dir), "--budgets", "100,500,10000"]) == 0
    out = capsys.readouterr().out
    assert "Front of val_accuracy against weights: 3 of 4 trials" in out
    front = out[:out.index("Best trial under each budget")]
    rows = [row for row in _rows(front) if row[:1] in (["0"], ["1"], ["3"])]
    assert [row[:4] for row in rows] == [["0", "120", "0.7100", "COMPLETED"],
                                         ["1", "400", "0.8600", "PRUNED"],
                                         ["3", "2,500", "0.9300", "COMPLETED"]]
    assert [row[-1] for row in rows] == ["2", "8", "32"]  # `units` differs, `activation` does not
    assert "activation" not in front and "900" not in front and "run" not in front.split()
    budgets = out[out.index("Best trial under each budget"):]
    assert [row for row in _rows(budgets) if row[:1] in (["100"], ["500"], ["10,000"])] == [
        ["100", "none"], ["500", "1", "400", "0.8600"], ["10,000", "3", "2,500", "0.9300"]]


def test_runs_pareto_json_joins_several_runs(tmp_path, capsys):
    from tests.helpers import write_search_run

    a = write_search_run(tmp_path / "a", SEARCH_TRIALS[:3])
    b = write_search_run(tmp_path / "b", [("0", "COMPLETED", 0.75, 100, {"units": 1})])
    status, document = run_json(capsys, "runs", "pareto", str(a), str(b), "--budgets", "110,500")
    assert status == 0
    assert document["runs"] == [str(a), str(b)] and document["objective"] == "val_accuracy"
    assert document["direction"] == "max" and document["trials"] == 4
    assert [(t["run"], t["trial_id"], t["params"], t["score"], t["status"]) for t in document["front"]] == [
        (str(b), "0", 100, 0.75, "COMPLETED"), (str(a), "1", 400, 0.86, "PRUNED")]
    assert document["front"][1]["hyperparameters"] == {"units": 8, "activation": "relu"}
    assert [(p["budget"], p["trial"] and (p["trial"]["run"], p["trial"]["trial_id"]))
            for p in document["budgets"]] == [(110, (str(b), "0")), (500, (str(a), "1"))]
    assert main(["runs", "pareto", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "run" in out.split() and str(b) in out  # several runs: each trial says whose it is


def test_runs_pareto_of_a_loss_objective_keeps_the_lowest_losses(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "loss", [("0", "COMPLETED", 0.9, 100, {}),
                                                  ("1", "COMPLETED", 0.3, 200, {}),
                                                  ("2", "COMPLETED", 0.5, 300, {})],
                               objective="val_loss")
    status, document = run_json(capsys, "runs", "pareto", str(run_dir))
    assert status == 0 and document["direction"] == "min"
    assert [t["trial_id"] for t in document["front"]] == ["0", "1"] and document["budgets"] == []


def test_runs_pareto_picks_under_the_budgets_the_runs_name_when_not_given(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "ladder", SEARCH_TRIALS,
                               logged_spec={"max_params": 10_000, "overrides": {"budget": [500, 100]}})
    # spec.toml is what `runs pareto` reads: give it the ladder too
    spec = RunSpec(search="random", model="tiny", trials=4, max_params=10_000,
                   overrides={"budget": [500, 100]})
    (run_dir / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    status, document = run_json(capsys, "runs", "pareto", str(run_dir))
    assert status == 0
    assert [(p["budget"], p["trial"] and p["trial"]["trial_id"]) for p in document["budgets"]] == [
        (100, None), (500, "1"), (10_000, "3")]


@pytest.mark.parametrize("budgets", ["abc", "150,0", "-5", "", "150,,500", "1.5"])
def test_runs_pareto_refuses_budgets_that_are_not_positive_integers(tmp_path, capsys, budgets):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "search", SEARCH_TRIALS)
    assert main(["runs", "pareto", str(run_dir), f"--budgets={budgets}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`--budgets`" in err and repr(budgets) in err
    status, document = run_json(capsys, "runs", "pareto", str(run_dir), f"--budgets={budgets}")
    assert status == 2 and document["field"] == "budgets"


def test_runs_pareto_names_a_missing_or_damaged_run_and_refuses_mixed_objectives(tmp_path, capsys):
    from tests.helpers import write_search_run

    good = write_search_run(tmp_path / "good", SEARCH_TRIALS)
    assert main(["runs", "pareto", str(good), str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "spec.toml" in err and err.count("\n") == 1
    damaged = write_search_run(tmp_path / "damaged", SEARCH_TRIALS)
    (damaged / "events.jsonl").write_bytes(b"\xff\xfe not UTF-8\n")
    (damaged / "spec.toml").write_bytes(b"\xff\xfe")
    assert main(["runs", "pareto", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert f"The run {damaged} is damaged: spec.toml" in err and err.count("\n") == 1
    loss = write_search_run(tmp_path / "loss", SEARCH_TRIALS, objective="val_loss")
    status, document = run_json(capsys, "runs", "pareto", str(good), str(loss))
    assert status == 1 and document["error_type"] == "RunError"
    assert str(good) in document["error"] and str(loss) in document["error"]
    assert "val_accuracy" in document["error"] and "val_loss" in document["error"]


def test_runs_pareto_of_a_run_without_finished_trials_says_so(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "young", [("0", "RUNNING", None, None, {})])
    assert main(["runs", "pareto", str(run_dir), "--budgets", "150"]) == 0
    assert "No trial with a score and a weight count" in capsys.readouterr().out


def test_runs_pareto_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
    from matplotlib.image import imread

    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "search", SEARCH_TRIALS)
    plot = tmp_path / "plots" / "front.png"
    status, document = run_json(capsys, "runs", "pareto", str(run_dir), "--budgets", "500",
                                "--plot", str(plot))
    assert status == 0 and document["plot"] == str(plot)
    assert imread(plot).std() > 0.01
    (tmp_path / "file").write_text("")
    assert main(["runs", "pareto", str(run_dir), "--plot", str(tmp_path / "file" / "front.png")]) == 2
    assert "`--plot`" in capsys.readouterr().err


def test_runs_pareto_plot_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    from kerasmnist import plots
    from tests.helpers import write_search_run

    def missing(*args, **kwargs):
        raise ImportError('kerasmnist.plots needs matplotlib: pip install "kerasmnist[plots]"')

    monkeypatch.setattr(plots, "plot_front", missing)
    run_dir = write_search_run(tmp_path / "search", SEARCH_TRIALS)
    assert main(["runs", "pareto", str(run_dir), "--plot", str(tmp_path / "front.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kerasmnist[plots]" in err


def _importance_trials(n: int = 12) -> list[tuple]:
    """`n` completed trials where `depth` sets the score and `noise` is noise."""
    scores = {1: 0.5, 2: 0.9, 3: 0.7}
    return [(str(i), "COMPLETED", scores[1 + i % 3] + 0.001 * (i % 5), 100,
             {"depth": 1 + i % 3, "noise": (7 * i) % 11 / 11, "activation": "relu"}) for i in range(n)]


def test_runs_show_prints_the_importance_of_each_hyperparameter(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "search", _importance_trials())
    assert main(["runs", "show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "Importance for val_accuracy: fANOVA (random forest, 64 trees), 12 trials" in out
    rows = [row for row in _rows(out[out.index("Importance for"):]) if row[:1] in (["depth"], ["noise"])]
    assert [row[0] for row in rows] == ["depth", "noise"] and "activation" not in out.split("Importance")[1]
    depth, noise = (float(row[1].rstrip("%")) for row in rows)
    assert depth > 80 and noise < 10 and rows[0][2].startswith("████████████████")


def test_runs_show_json_has_the_importance_or_the_reason_there_is_none(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "search", _importance_trials())
    status, shown = run_json(capsys, "runs", "show", str(run_dir))
    assert status == 0 and shown["importance_reason"] is None
    importance = shown["importance"]
    assert importance["objective"] == "val_accuracy" and importance["trials"] == 12
    assert list(importance["shares"]) == ["depth", "noise"] and sum(importance["shares"].values()) == \
        pytest.approx(1.0)
    few = write_search_run(tmp_path / "few", SEARCH_TRIALS)
    status, shown = run_json(capsys, "runs", "show", str(few))
    assert status == 0 and shown["importance"] is None
    assert shown["importance_reason"] == ("3 usable trials (completed, with a score; 1 pruned left "
                                          "out): an importance needs at least 4")


def test_runs_show_says_in_a_line_why_a_search_has_no_importance_yet(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "young", [*_importance_trials(3),
                                                    ("3", "RUNNING", None, None, {"depth": 1})])
    assert main(["runs", "show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "Importance: none, 3 usable trials (completed, with a score): an importance needs at " \
           "least 4" in out.replace("\n", "")
    assert "Importance for" not in out


def test_runs_show_of_a_running_search_gives_the_importance_of_its_trials_so_far(tmp_path, capsys):
    from tests.helpers import write_search_run

    run_dir = write_search_run(tmp_path / "running", [*_importance_trials(9),
                                                      ("9", "RUNNING", None, None, {"depth": 1})])
    assert main(["runs", "show", str(run_dir)]) == 0
    assert "Importance for val_accuracy: fANOVA (random forest, 64 trees), 9 trials" in \
        capsys.readouterr().out


def test_runs_show_of_a_training_run_has_no_importance(trained, capsys):
    status, shown = run_json(capsys, "runs", "show", str(trained))
    assert status == 0 and shown["importance"] is None
    assert shown["importance_reason"] == "the run is not a search"
    assert main(["runs", "show", str(trained)]) == 0
    assert "Importance" not in capsys.readouterr().out
