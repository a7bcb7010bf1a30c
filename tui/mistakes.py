"""The test images a run's model gets wrong, found in a process of their own.

Predicting needs Keras, which the interface never loads, so
`python -m kerasmnist_tui.mistakes RUN_DIR` loads the run's `best_model.keras`,
asks the library (`kerasmnist.evaluation.find_mistakes`) for the most confident
mistakes on the test split and prints them as one JSON document, each with its
raw pixels; `MistakeSearch` runs it without blocking and reads the answer back
as `Mistake`s.
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

from kerasmnist.errors import MistakesError

__all__ = ["Mistake", "MistakeReport", "MistakeSearch", "MistakesError", "main"]


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
        """Reads the JSON document that `main` prints."""
        mistakes = []
        for item in value["mistakes"]:
            pixels = np.frombuffer(base64.b64decode(item["pixels"]), dtype=np.uint8)
            mistakes.append(Mistake(int(item["index"]), pixels.reshape(item["shape"]), str(item["true"]),
                                    str(item["predicted"]), float(item["confidence"])))
        return cls(mistakes, int(value["errors"]), int(value["examples"]))


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
    from kerasmnist.backend import quiet_backend
    from kerasmnist.errors import KerasMnistError

    quiet_backend()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # standard output is for the one document
            result = _report(Path(args.run_dir), args.top)
    except (KerasMnistError, OSError, ValueError) as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


def _report(run_dir: Path, top: int) -> dict[str, Any]:
    """The document `MistakeReport.from_dict` reads, pixels as base64 of the raw bytes.

    Raises:
        MistakesError: The run has no model yet.
    """
    from kerasmnist.backend import load_backend
    from kerasmnist.datasets import load_dataset
    from kerasmnist.evaluation import find_mistakes
    from kerasmnist.runs.rundir import MODEL_FILE, load_spec

    if not (run_dir / MODEL_FILE).is_file():
        raise MistakesError(f"{run_dir} has no {MODEL_FILE} yet")
    dataset = load_dataset(load_spec(run_dir).dataset, validation=0)
    load_backend()
    from kerasmnist.runs.checkpoints import load_model_file

    model = load_model_file(run_dir / MODEL_FILE)
    mistakes = find_mistakes(model, dataset, split="test", top=top)
    images = dataset.raw("test")[0]
    found = []
    for item in mistakes.as_dicts(dataset.class_names):
        image = np.ascontiguousarray(images[item["index"]], np.uint8)
        found.append({**item, "shape": list(image.shape),
                      "pixels": base64.b64encode(image.tobytes()).decode()})
    return {"errors": mistakes.errors, "examples": mistakes.examples, "mistakes": found}


if __name__ == "__main__":
    sys.exit(main())
