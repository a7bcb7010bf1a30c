"""Keras callbacks: full-data evaluation each epoch, and the run event logger."""

from kerasmnist.callbacks.event_logger import EventLogger
from kerasmnist.callbacks.full_eval import FullEvalMetrics

__all__ = ["EventLogger", "FullEvalMetrics"]
