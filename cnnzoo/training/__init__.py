"""Training runs: ``train`` and ``finetune`` write run folders that survive interruption."""

from cnnzoo.training.callbacks import TrainingDivergedError, history_rows
from cnnzoo.training.finetune_run import finetune
from cnnzoo.training.lr_find import find_learning_rate
from cnnzoo.training.lr_sweep import LearningRateSweep
from cnnzoo.training.run import SCHEDULES, TrainResult, train
from cnnzoo.training.sources import SAMPLE, RunData, load_run_data

__all__ = [
    "SAMPLE",
    "SCHEDULES",
    "LearningRateSweep",
    "RunData",
    "TrainResult",
    "TrainingDivergedError",
    "find_learning_rate",
    "finetune",
    "history_rows",
    "load_run_data",
    "train",
]
