"""Runs: specs, the run engine, and run directories.

- `spec`: `RunSpec`, a run's settings from flags or TOML, and their resolution;
- `prepare`: naming run directories and writing the resolved spec (no Keras);
- `engine`: `run`, `resume`, `run_distributed` (imports Keras), the flow over
  `training`, `search` (every contact with keras-tuner), `processes` (child
  and worker processes, started as `python -m kerasmnist.runs.worker`) and
  `results`;
- `rundir`: reading run directories (`run_info`, `list_runs`, `trial_table`,
  `run_state`, `best_model_source`), without Keras, for the command line and
  the terminal UI;
- `state`: `RunState`, the one fold of a run's event log, with `RunStatus`,
  `TrialState` and `TrialStatus`;
- `export`: `trial_rows` and `trials_dataframe`, a run's trials as a table, and
  `compare`: `compare_runs`, several runs' best trials side by side (no Keras);
- `hparams`: a search's TensorBoard HParams experiment and sessions;
- `checkpoints`: `load_trial_model`, the model of any trial of a run, reloaded
  from its checkpoint, and `load_model_file` (imports Keras).

The engine's names load Keras on first access, so that watching runs stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasmnist._lazy import lazy_getattr
from kerasmnist.errors import RunBusyError, RunError, SpecError
from kerasmnist.runs.compare import compare_runs
from kerasmnist.runs.export import trial_rows, trials_dataframe
from kerasmnist.runs.prepare import discard_new_run_dir, new_run_dir, prepare_run_dir
from kerasmnist.runs.rundir import (
    RunInfo,
    best_model_source,
    is_running,
    list_runs,
    load_spec,
    read_results,
    read_run,
    run_info,
    run_state,
    trial_table,
)
from kerasmnist.runs.spec import RunSpec, check_spec
from kerasmnist.runs.state import RunState, RunStatus, TrialState, TrialStatus

if TYPE_CHECKING:
    from kerasmnist.runs.engine import RunResult, resume, run, run_distributed, search_worker

_ENGINE = ("RunResult", "resume", "run", "run_distributed", "search_worker")

__all__ = [
    "RunBusyError",
    "RunError",
    "RunInfo",
    "RunResult",
    "RunSpec",
    "RunState",
    "RunStatus",
    "SpecError",
    "TrialState",
    "TrialStatus",
    "best_model_source",
    "check_spec",
    "compare_runs",
    "discard_new_run_dir",
    "is_running",
    "list_runs",
    "load_spec",
    "new_run_dir",
    "prepare_run_dir",
    "read_results",
    "read_run",
    "resume",
    "run",
    "run_distributed",
    "run_info",
    "run_state",
    "search_worker",
    "trial_rows",
    "trial_table",
    "trials_dataframe",
]


__getattr__ = lazy_getattr(globals(), dict.fromkeys(_ENGINE, "kerasmnist.runs.engine"))
