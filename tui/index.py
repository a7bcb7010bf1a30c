"""The runs of a runs directory, re-read only where something changed."""

from __future__ import annotations

import os
from pathlib import Path

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs.rundir import EVENTS_FILE, RESULTS_FILE, SPEC_FILE, RunInfo, run_dirs, run_info
from kerasmnist.runs.state import RunStatus

__all__ = ["RunIndex"]

_Signature = tuple[tuple[int, int] | None, ...]
_LIVE = (RunStatus.RUNNING, RunStatus.STARTING)


class RunIndex:
    """Summaries (`kerasmnist.runs.rundir.RunInfo`) of the runs under a directory.

    `refresh()` reads a run again only when its spec, event log or results
    changed, or while a process runs it (it may die without a word), so
    watching a directory of many finished runs costs a few `stat` calls.

    Reading a run only when its files changed also keeps the interface's probe of
    a run's lock away from the moment a resumed run takes it. A damaged run is
    one summary among the others (status `DAMAGED`, with its `problem`).

    Args:
        runs_dir: The directory holding run directories; it may not exist yet.
    """

    def __init__(self, runs_dir: str | os.PathLike[str]) -> None:
        self.runs_dir = Path(runs_dir)
        self._cache: dict[Path, tuple[_Signature, RunInfo]] = {}

    def refresh(self) -> list[RunInfo]:
        """The runs, newest first (as `kerasmnist.runs.rundir.list_runs` orders them)."""
        candidates = run_dirs(self.runs_dir)
        infos = []
        for path in candidates:
            signature = _signature(path)
            cached = self._cache.get(path)
            if cached is None or cached[0] != signature or cached[1].status in _LIVE:
                try:
                    cached = (signature, run_info(path))
                except (InvalidArgumentError, OSError):
                    continue  # removed while we looked: gone next time
                self._cache[path] = cached
            infos.append(cached[1])
        for path in set(self._cache) - set(candidates):
            del self._cache[path]
        return sorted(infos, key=lambda i: (i.started or 0.0, i.path.name), reverse=True)


def _signature(run_dir: Path) -> _Signature:
    result: list[tuple[int, int] | None] = []
    for name in (SPEC_FILE, EVENTS_FILE, RESULTS_FILE):
        try:
            stat = (run_dir / name).stat()
        except OSError:
            result.append(None)
            continue
        result.append((stat.st_size, stat.st_mtime_ns))
    return tuple(result)
