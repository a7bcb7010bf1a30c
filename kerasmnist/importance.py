"""Hyperparameter importance: the share of the objective's variation each hyperparameter explains.

The method is fANOVA's first-order (main-effect) importance, as in Hutter, Hoos
and Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter
Importance" (ICML 2014), and in optuna's default `FanovaImportanceEvaluator`:

1. The usable trials are those `COMPLETED` with a score. Pruned trials are left
   out: their scores are of fewer epochs, and would read as an effect of
   whatever hyperparameters made them look bad early. Failed, running and
   interrupted trials have no score.
2. Each hyperparameter that varies between them (`varying_hyperparameters`:
   constant ones and keras-tuner's own `tuner/...` are left out) becomes one
   column: numbers as numbers (a log scale does not matter to trees), booleans
   as 0/1, anything else (strings) as category codes in sorted order. A trial
   that lacks the hyperparameter (a conditional one, such as `units_3` of a
   two-layer MLP) gets a level of its own below every value.
3. A random forest (scikit-learn's `RandomForestRegressor`: `N_TREES` trees,
   optuna's depth 64, a fixed `random_state`, hence deterministic) is fitted
   to the scores.
4. The main effect of hyperparameter `h` at value `v` is the forest's
   prediction averaged over the trials' own configurations with `h` set to
   `v`: the marginal over the other hyperparameters' *observed* values (at
   most `MAX_BACKGROUND` of them, a seeded sample, beyond which more add
   little). Its importance is the variance of that main effect over the
   values `h` took in the trials, each weighted by how often it was tried.
   The forest's prediction is constant between the split thresholds it uses
   on `h`, so values that no threshold separates are computed once.
   A conditional hyperparameter's presence tells the same as the one it
   depends on (`units_3` is there exactly when `num_layers` >= 4), so the
   two may share that effect's credit, as in fANOVA proper.
5. The shares are those variances divided by their sum, so they sum to 1 (as
   optuna reports them). What they leave out (the interactions) is not shown.

This is the empirical form of fANOVA: the original integrates the forest's
trees exactly over the whole configuration space (each hyperparameter uniform
over its range). A run's log does not carry the space's bounds, and the
empirical marginal measures what the search actually tried; with a random
search the two agree but for sampling noise.

Why not the alternatives: a forest's impurity importance (scikit-learn's
`feature_importances_`) favours hyperparameters with many distinct values, so a
float that is pure noise ranks high. PED-ANOVA (Watanabe et al., IJCAI 2023)
answers another question, which hyperparameters matter for reaching the top
γ-quantile of trials, needs a choice of γ, and from a 30-trial search has only
a few top trials to estimate densities from. Optuna's own implementation
would be a dependency for a few lines; scikit-learn comes with
keras-tuner[bayesian] anyway.

scikit-learn is imported when an importance is computed: the module itself
imports neither it nor Keras.

Example:

>>> from kerasmnist.runs.trials import TrialState
>>> trials = [TrialState(str(i), {"units": 2**(i % 4 + 3), "seed": (7 * i) % 5},
...                      status="COMPLETED", score=0.5 + 0.1 * (i % 4)) for i in range(12)]
>>> importance = hyperparameter_importance(trials, "val_accuracy")
>>> importance.trials, list(importance.shares)[0], importance.shares["units"] > 0.9
(12, 'units', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from kerasmnist.errors import ImportanceError, InvalidArgumentError
from kerasmnist.runs.trials import TrialState, TrialStatus, as_number, varying_hyperparameters

if TYPE_CHECKING:
    from kerasmnist.runs.state import RunState

__all__ = ["MAX_BACKGROUND", "MIN_TRIALS", "N_TREES", "Importance", "RunImportance",
           "hyperparameter_importance", "importance_of", "share_bar"]

MIN_TRIALS = 4
"""The fewest usable trials (completed, with a score) an importance is computed from."""

N_TREES = 64
"""Trees in the forest (optuna's default)."""

MAX_BACKGROUND = 256
"""The most trial configurations a main effect is averaged over; more are sampled (seeded)."""

_MAX_DEPTH = 64


@dataclass(frozen=True)
class Importance:
    """How much of the objective's variation each hyperparameter explains.

    Attributes:
        objective: The metric the scores are values of.
        method: A short human name of the method, e.g. `"fANOVA (random forest, 64 trees)"`.
        trials: How many trials it was computed from.
        shares: Each hyperparameter's share of the variation its main effect
            explains, best first, summing to 1.
    """

    objective: str
    method: str
    trials: int
    shares: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The importance in plain JSON types: `objective`, `method`, `trials` and `shares`
        (hyperparameter to share, best first, as JSON keeps an object's order)."""
        return {"objective": self.objective, "method": self.method, "trials": self.trials,
                "shares": dict(self.shares)}


class RunImportance(NamedTuple):
    """A run's importance, or why there is none: exactly one of the two is `None`.

    Attributes:
        importance: The importance, or `None`.
        reason: Why there is none (a sentence), or `None`.
    """

    importance: Importance | None
    reason: str | None


def hyperparameter_importance(trials: Iterable[TrialState], objective: str, *,
                              seed: int = 0) -> Importance:
    """The share of the objective's variation each hyperparameter explains (fANOVA main effects).

    See the module's docstring for exactly what is computed.

    Args:
        trials: A search's trials; only those `COMPLETED` with a score are used.
        objective: The metric their scores are values of (named in the result;
            its direction does not change a variance).
        seed: The forest's random state and the background sample's seed.
            Defaults to `0`.

    Returns:
        The `Importance`, hyperparameters best first.

    Raises:
        InvalidArgumentError: `objective` is not a non-empty string, or `seed`
            not an integer.
        ImportanceError: Fewer than `MIN_TRIALS` usable trials, no hyperparameter
            that varies between them, or a score that is the same in all.
    """
    if not isinstance(objective, str) or not objective:
        raise InvalidArgumentError(f"Invalid value for argument `objective`. Expected a metric "
                                   f"name. Received: objective={objective!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgumentError(f"Invalid value for argument `seed`. Expected an integer. "
                                   f"Received: seed={seed!r}")
    trials = list(trials)
    usable = [t for t in trials if t.status == TrialStatus.COMPLETED and as_number(t.score) is not None]
    if len(usable) < MIN_TRIALS:
        pruned = sum(t.status == TrialStatus.PRUNED for t in trials)
        left_out = f"; {pruned} pruned left out" if pruned else ""
        raise ImportanceError(
            f"{_count(len(usable), 'usable trial')} (completed, with a score{left_out}): "
            f"an importance needs at least {MIN_TRIALS}", trials=len(usable), needed=MIN_TRIALS)
    names = varying_hyperparameters(usable)
    if not names:
        raise ImportanceError(f"no hyperparameter varies between the {len(usable)} usable trials",
                              trials=len(usable), needed=MIN_TRIALS)
    scores = np.array([float(t.score) for t in usable if t.score is not None])
    if np.ptp(scores) == 0.0:
        raise ImportanceError(f"{objective} is {scores[0]:g} in each of the {len(usable)} usable "
                              f"trials: there is no variation to explain",
                              trials=len(usable), needed=MIN_TRIALS)
    # float32 is what the trees compare; the thresholds below are compared with the same values.
    features = np.column_stack([_encode([t.hyperparameters.get(name) for t in usable])
                                for name in names]).astype(np.float32).astype(np.float64)
    variances = _main_effect_variances(features, scores, seed)
    total = float(variances.sum())
    if not total > 0.0:
        raise ImportanceError(f"the forest fitted to the {len(usable)} usable trials predicts one "
                              f"{objective} for all: there is no variation to explain",
                              trials=len(usable), needed=MIN_TRIALS)
    order = sorted(range(len(names)), key=lambda i: (-variances[i], i))
    return Importance(objective=objective, method=f"fANOVA (random forest, {N_TREES} trees)",
                      trials=len(usable),
                      shares={names[i]: float(variances[i]) / total for i in order})


def importance_of(state: RunState, *, seed: int = 0) -> RunImportance:
    """A run's importance from the trials it has done so far, or why there is none.

    The faces (`kerasmnist runs show`, the terminal UI, the report) call this, so
    that the rules (a search, enough usable trials) live here once.

    Args:
        state: The run's folded log (`kerasmnist.runs.rundir.run_state`); a
            running search gives the importance of its trials so far.
        seed: As for `hyperparameter_importance`. Defaults to `0`.

    Returns:
        A `RunImportance`: the importance, or `None` and the reason (a run that
        is not a search, too few usable trials, nothing that varies).

    Example:

    >>> from kerasmnist.runs.state import RunState
    >>> importance_of(RunState.from_events([{"event": "run_started", "spec": {"search": "none"}}]))
    RunImportance(importance=None, reason='the run is not a search')
    """
    if str(state.spec.get("search") or "none") == "none":
        return RunImportance(None, "the run is not a search")
    try:
        return RunImportance(hyperparameter_importance(state.trials.values(), state.objective,
                                                       seed=seed), None)
    except ImportanceError as error:
        return RunImportance(None, str(error))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _encode(values: Sequence[Any]) -> np.ndarray:
    """One hyperparameter's values as numbers; `None` (the trial lacks it) a level below all."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return np.array([-1.0 if v is None else float(v) for v in values])
    numbers = [n for n in (as_number(v) for v in present) if n is not None]
    if present and len(numbers) == len(present):  # all finite numbers (no bool: as_number refuses it)
        low, high = min(numbers), max(numbers)
        missing = low - max(1.0, high - low)
        return np.array([missing if v is None else float(v) for v in values])
    codes = {text: float(code) for code, text in enumerate(sorted({repr(v) for v in present}))}
    return np.array([-1.0 if v is None else codes[repr(v)] for v in values])


def _main_effect_variances(features: np.ndarray, scores: np.ndarray, seed: int) -> np.ndarray:
    """Each column's main-effect variance under the forest fitted to `features` and `scores`."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=N_TREES, max_depth=_MAX_DEPTH, random_state=seed)
    forest.fit(features, scores)
    rows, columns = features.shape
    background = features
    if rows > MAX_BACKGROUND:
        picked = np.random.default_rng(seed).choice(rows, size=MAX_BACKGROUND, replace=False)
        background = features[np.sort(picked)]
    variances = np.zeros(columns)
    for column in range(columns):
        values, weights = _distinct_effects(forest, column, features[:, column])
        if len(values) < 2:
            continue  # no split of the forest tells its values apart: no main effect
        grid = np.repeat(background[np.newaxis], len(values), axis=0)
        grid[:, :, column] = values[:, np.newaxis]
        effect = forest.predict(grid.reshape(-1, columns)).reshape(len(values), -1).mean(axis=1)
        mean = np.average(effect, weights=weights)
        variances[column] = np.average((effect - mean) ** 2, weights=weights)
    return variances


def _distinct_effects(forest: Any, column: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of one column that the forest can tell apart (one of each group), and how
    many trials each group holds.

    A tree sends `x` left when `x <= threshold`, so two values get the same
    prediction from every tree exactly when no threshold on the column lies between them.
    """
    thresholds = np.unique(np.concatenate(
        [tree.tree_.threshold[tree.tree_.feature == column] for tree in forest.estimators_]))
    groups = np.searchsorted(thresholds, values, side="left")
    _, first, counts = np.unique(groups, return_index=True, return_counts=True)
    return values[first], counts.astype(np.float64)


_EIGHTHS = " ▏▎▍▌▋▊▉"


def share_bar(share: float, width: int = 20) -> str:
    """A share as a bar of block characters, `width` cells for all of it (to an eighth of a cell).

    The faces draw `Importance.shares` with it, so they agree.

    Args:
        share: A fraction in [0, 1]; outside, clipped.
        width: The cells for a share of 1. Defaults to `20`.

    Returns:
        The bar, without padding.

    Example:

    >>> share_bar(0.5, 8), share_bar(1 / 64, 8), share_bar(0.0)
    ('████', '▏', '')
    """
    eighths = round(min(max(float(share), 0.0), 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")
