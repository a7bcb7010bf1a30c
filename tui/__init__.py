"""kerasmnist-tui: launch kerasmnist runs and follow them live in a terminal.

The app is a face of the run engine, with no training logic of its own: it
reads run directories (`kerasmnist.runs.rundir`, `kerasmnist.events`) and starts
runs as `python -m kerasmnist.cli` subprocesses, so neither Keras nor TensorFlow
is loaded in its process. Start it with `kerasmnist-tui [--runs-dir DIR]` or
`python -m kerasmnist_tui`.
"""

from __future__ import annotations

__all__: list[str] = []
