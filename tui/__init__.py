"""kerasmnist-tui: launch kerasmnist runs and follow them live in a terminal.

The app is a face of the run engine, with no training logic of its own: it
reads runs through the library's fold of their event logs
(`kerasmnist.runs.state.RunState`), prepares a new run's directory with
`kerasmnist.runs.prepare`, and starts each run as a `kerasmnist resume DIR`
subprocess, so neither Keras nor TensorFlow is loaded in its process. Start it
with `kerasmnist-tui [--runs-dir DIR]` or `python -m kerasmnist_tui`.
"""

from __future__ import annotations

__all__: list[str] = []
