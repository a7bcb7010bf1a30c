"""Choosing and quieting the Keras backend, for front ends and scripts.

`import kerasmnist.backend` loads neither Keras nor TensorFlow: the command line
and the terminal UI import it at start-up and call `quiet_backend()` before
anything loads TensorFlow, then `load_backend()` where a command needs Keras.
Which backend Keras uses is Keras's own choice (`KERAS_BACKEND`, or
`~/.keras/keras.json`); these functions only keep its start-up quiet.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

__all__ = ["load_backend", "quiet_backend"]


def quiet_backend(verbose: bool = False) -> None:
    """Silences TensorFlow's and Keras's chatter, unless asked for or already configured.

    Sets `TF_CPP_MIN_LOG_LEVEL` to `3` (a level the user set is kept), lowers
    the `tensorflow` logger to errors, and hides Keras's warning about
    optimizer variables skipped when loading a checkpoint into a model whose
    optimizer is not yet built. Call it before Keras is imported: TensorFlow
    reads `TF_CPP_MIN_LOG_LEVEL` once, when it loads.

    Args:
        verbose: Whether to leave every message on (the function then does
            nothing). Defaults to `False`.

    Example:

    >>> import os
    >>> quiet_backend()
    >>> os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1", "2", "3")
    True
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Loading a checkpoint into a model whose optimizer has not yet been built.
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")


def load_backend(verbose: bool = False) -> None:
    """Imports Keras and its backend, with TensorFlow's start-up lines hidden.

    TensorFlow's C++ layer prints them on standard error before any log level
    applies, so file descriptor 2 points to the null device while Keras loads.
    An import error is still raised, and shown, once standard error is back.
    Calls `quiet_backend(verbose)` first; once Keras is loaded it only returns.

    Args:
        verbose: Whether to let TensorFlow's messages through. Defaults to
            `False`.

    Raises:
        ImportError: Keras or its backend cannot be imported.

    Example:

    >>> import sys
    >>> load_backend()
    >>> "keras" in sys.modules
    True
    """
    quiet_backend(verbose)
    if verbose or "keras" in sys.modules:
        import keras  # noqa: F401
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
