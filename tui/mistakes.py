"""The test images a run's model gets wrong, found in a process of their own.

Predicting needs Keras, which the interface never loads, so
`python -m kerasmnist_tui.mistakes RUN_DIR` loads the run's `best_model.keras`,
predicts the test split and prints the most confident mistakes as one JSON
document, each with its raw pixels; `MistakeSearch` runs it without blocking and
reads the answer back as `Mistake`s.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Mistake", "MistakeReport", "MistakeSearch", "MistakesError", "find_mistakes", "main"]


class MistakesError(RuntimeError):
    """The mistakes could not be found (no model, no data, a crash)."""


@dataclass(frozen=True)
class Mistake:
    """One misclassified test example.

    Attributes:
        index: Its index in the test split.
        image: Its raw pixels, `uint8`, shape `(height, width)`.
        true: The true class name.
        predicted: The predicted class name.
        confidence: The model's probability for the predicted class.
    """

    index: int
    image: np.ndarray
    true: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class MistakeReport:
    """The most confident mistakes of a model on a test split.

    Attributes:
        mistakes: The mistakes shown, most confident first.
        errors: How many test examples the model gets wrong.
        examples: How many test examples there are.
    """

    mistakes: list[Mistake]
    errors: int
    examples: int

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> MistakeReport:
        """Reads the JSON document `find_mistakes` makes."""
        mistakes = []
        for item in value["mistakes"]:
            pixels = np.frombuffer(base64.b64decode(item["pixels"]), dtype=np.uint8)
            mistakes.append(Mistake(int(item["index"]), pixels.reshape(item["shape"]), str(item["true"]),
                                    str(item["predicted"]), float(item["confidence"])))
        return cls(mistakes, int(value["errors"]), int(value["examples"]))


def find_mistakes(run_dir: str | os.PathLike[str], *, top: int = 24) -> dict[str, Any]:
    """Predicts the test split with a run's best model; returns its most confident mistakes.

    Imports Keras: call it in a process of its own (`main`).

    Args:
        run_dir: A finished run directory (with `spec.toml` and `best_model.keras`).
        top: How many mistakes to return. Defaults to `24`.

    Returns:
        `{"errors", "examples", "mistakes": [{"index", "true", "predicted",
        "confidence", "shape", "pixels"}]}`, pixels as base64 of the raw bytes.

    Raises:
        MistakesError: The run has no model.
    """
    from kerasmnist.cli.common import load_backend
    from kerasmnist.datasets import load_dataset
    from kerasmnist.runs.rundir import MODEL_FILE, load_spec

    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        raise MistakesError(f"{run_dir} has no {MODEL_FILE} yet")
    spec = load_spec(run_dir)
    dataset = load_dataset(spec.dataset, validation=0)
    load_backend()
    import keras

    import kerasmnist.layers  # noqa: F401  (registers the presets' layer)

    model = keras.saving.load_model(run_dir / MODEL_FILE, compile=False)
    x, y = dataset.arrays("test", view="flat" if len(model.input_shape) == 2 else "image")
    scores = np.asarray(model.predict(x.reshape((len(x), *model.input_shape[1:])), batch_size=1024,
                                      verbose=0), dtype=np.float64)
    probabilities = scores if _is_probability(scores) else _softmax(scores)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y)
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:top]
    images, _ = dataset.raw("test")
    names = dataset.class_names

    def pixels(i: int) -> str:
        return base64.b64encode(np.ascontiguousarray(images[i], np.uint8).tobytes()).decode()

    return {
        "errors": int(len(wrong)), "examples": int(len(y)),
        "mistakes": [{"index": int(i), "true": names[int(y[i])], "predicted": names[int(predicted[i])],
                      "confidence": float(confidence[i]), "shape": list(images[i].shape),
                      "pixels": pixels(i)} for i in chosen],
    }


def _is_probability(scores: np.ndarray) -> bool:
    return bool(np.all(scores >= 0) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class MistakeSearch:
    """Runs `python -m kerasmnist_tui.mistakes` in the background; poll it from a timer.

    Args:
        run_dir: The run directory.
        top: How many mistakes to find. Defaults to `24`.
        python: The interpreter. Defaults to `sys.executable`.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, top: int = 24, python: str | None = None) -> None:
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
        self.process = subprocess.Popen(
            [python or sys.executable, "-m", "kerasmnist_tui.mistakes", str(run_dir), "--top", str(top)],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, env=env, start_new_session=True)

    def poll(self) -> MistakeReport | None:
        """The report once the process is done, or `None` while it runs.

        Raises:
            MistakesError: The process failed; the message says why.
        """
        code = self.process.poll()
        if code is None:
            return None
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read(), self._err.read()
        self._close()
        try:
            value = json.loads(out)
        except ValueError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise MistakesError("\n".join(tail) or f"exited with status {code}") from None
        if not isinstance(value, dict) or "error" in value:
            raise MistakesError(str(value.get("error") if isinstance(value, dict) else value))
        try:
            return MistakeReport.from_dict(value)
        except (KeyError, TypeError, ValueError) as error:
            raise MistakesError(f"unreadable answer: {error}") from None

    def cancel(self) -> None:
        """Ends the process if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m kerasmnist_tui.mistakes RUN_DIR [--top K]`: prints the JSON document."""
    parser = argparse.ArgumentParser(prog="python -m kerasmnist_tui.mistakes",
                                     description="Print the most confident test mistakes of a run's model.")
    parser.add_argument("run_dir")
    parser.add_argument("--top", type=int, default=24)
    args = parser.parse_args(argv)
    from kerasmnist.cli.common import quiet_backend
    from kerasmnist.errors import KerasMnistError

    quiet_backend()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # standard output is for the one document
            result = find_mistakes(args.run_dir, top=args.top)
    except (MistakesError, KerasMnistError, OSError, ValueError) as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
