"""A preset's recipe resolves a spec in one place: the library, the CLI and `spec.toml` agree."""

from __future__ import annotations

import signal

import pytest

import kerasmnist as km
from kerasmnist.cli import main
from kerasmnist.recipes import PRESET_NAMES, recipe
from kerasmnist.runs import engine, prepare_run_dir
from kerasmnist.runs.spec import DEFAULT_EPOCHS, RunSpec


@pytest.fixture
def no_training(monkeypatch):
    """Runs stop right after writing their spec: what is compared here is the spec."""
    def stop(*args, **kwargs):
        raise KeyboardInterrupt("stopped by the test after the spec was written")

    monkeypatch.setattr(engine, "_local", stop)


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_the_cli_and_the_library_write_the_same_spec_for_every_preset(tmp_path, preset, no_training):
    assert main(["train", "--model", preset, "--run-dir", str(tmp_path / "cli"), "--quiet"]) == 130
    with pytest.raises(KeyboardInterrupt):
        km.run(km.RunSpec(model=preset), tmp_path / "lib")
    cli = (tmp_path / "cli" / "spec.toml").read_text()
    assert cli == (tmp_path / "lib" / "spec.toml").read_text()
    written = RunSpec.from_toml(tmp_path / "cli" / "spec.toml")
    own = recipe(preset)
    assert (written.epochs, written.batch_size) == (own.epochs, own.batch_size)


def test_an_interrupted_command_leaves_the_interrupt_handler_as_it_found_it(tmp_path, no_training):
    """Left ignored, SIGINT would stay ignored in every process started afterwards (the
    terminal UI's runs among them), which then could not be stopped."""
    before = signal.getsignal(signal.SIGINT)
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--quiet"]) == 130
    assert signal.getsignal(signal.SIGINT) is before


def test_a_hypermodel_resolves_to_the_default_epochs_and_keeps_its_batch_size_open(tmp_path, no_training):
    assert main(["train", "--model", "mlp", "--run-dir", str(tmp_path / "cli"), "--quiet"]) == 130
    written = RunSpec.from_toml(tmp_path / "cli" / "spec.toml")
    assert (written.epochs, written.batch_size) == (DEFAULT_EPOCHS, None)
    assert "batch_size" not in (tmp_path / "cli" / "spec.toml").read_text()


def test_fields_given_explicitly_win_over_the_recipe(tmp_path, no_training):
    assert recipe("mnist_cnn").epochs != 2 and recipe("mnist_cnn").batch_size != 32
    args = ["train", "--model", "mnist_cnn", "--epochs", "2", "--batch-size", "32", "--quiet"]
    assert main([*args, "--run-dir", str(tmp_path / "cli")]) == 130
    with pytest.raises(KeyboardInterrupt):
        km.run(km.RunSpec(model="mnist_cnn", epochs=2, batch_size=32), tmp_path / "lib")
    for name in ("cli", "lib"):
        written = RunSpec.from_toml(tmp_path / name / "spec.toml")
        assert (written.epochs, written.batch_size) == (2, 32)


def test_a_run_directory_resumes_with_the_unresolved_spec_that_made_it(tmp_path, no_training):
    assert prepare_run_dir(RunSpec(model="tiny_500"), tmp_path) is False
    assert prepare_run_dir(RunSpec(model="tiny_500"), tmp_path) is True  # resolves the same
    assert prepare_run_dir(RunSpec(model="tiny_500", epochs=recipe("tiny_500").epochs), tmp_path) is True
    with pytest.raises(km.InvalidArgumentError, match=r"fields \['epochs'\] differ"):
        prepare_run_dir(RunSpec(model="tiny_500", epochs=1), tmp_path)


def test_resolving_is_idempotent_and_leaves_other_fields_alone():
    spec = RunSpec(model="fashion_cnn", seed=4, validation=5000)
    once = spec.resolved()
    assert once.resolved() is once
    assert (once.seed, once.validation, once.model) == (4, 5000, "fashion_cnn")
    assert spec.epochs is None and spec.epoch_count == once.epochs == recipe("fashion_cnn").epochs
