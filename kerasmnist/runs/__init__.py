"""Runs: specs, the run engine, and run directories.

- `spec`: `RunSpec`, a run's settings from flags or TOML;
- `engine`: `run`, `resume`, `run_distributed` (imports Keras);
- `rundir`: reading run directories (`run_info`, `list_runs`, `trial_table`),
  without Keras, for the command line and the terminal UI.

The engine's names load Keras on first access, so that watching runs stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kerasmnist.runs.rundir import (
    RunBusyError,
    RunInfo,
    is_running,
    list_runs,
    load_spec,
    read_results,
    run_info,
    trial_table,
)
from kerasmnist.runs.spec import RunSpec, SpecError

if TYPE_CHECKING:
    from kerasmnist.runs.engine import RunError, RunResult, resume, run, run_distributed

_ENGINE = ("RunError", "RunResult", "resume", "run", "run_distributed")

__all__ = [
    "RunBusyError",
    "RunError",
    "RunInfo",
    "RunResult",
    "RunSpec",
    "SpecError",
    "is_running",
    "list_runs",
    "load_spec",
    "read_results",
    "resume",
    "run",
    "run_distributed",
    "run_info",
    "trial_table",
]


def __getattr__(name: str) -> Any:
    if name not in _ENGINE:
        raise AttributeError(f"module 'kerasmnist.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module("kerasmnist.runs.engine"), name)
    globals()[name] = value
    return value
