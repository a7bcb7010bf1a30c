"""Keras callbacks: full-data evaluation each epoch, the run event logger, trial pruning,
checkpoints that a fit goes on from."""

from kerasmnist.callbacks.epoch_checkpoint import EpochCheckpoint, read_checkpoint
from kerasmnist.callbacks.event_logger import EventLogger
from kerasmnist.callbacks.full_eval import FullEvalMetrics
from kerasmnist.callbacks.pruner import Pruner

__all__ = ["EpochCheckpoint", "EventLogger", "FullEvalMetrics", "Pruner", "read_checkpoint"]
