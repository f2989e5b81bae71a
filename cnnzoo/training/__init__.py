"""Training runs: ``train`` and ``finetune`` write run folders that survive interruption."""

from cnnzoo.training.callbacks import TrainingDivergedError, history_rows
from cnnzoo.training.finetune_run import finetune
from cnnzoo.training.run import SCHEDULES, TrainResult, train
from cnnzoo.training.sources import SAMPLE, RunData, load_run_data

__all__ = [
    "SAMPLE",
    "SCHEDULES",
    "RunData",
    "TrainResult",
    "TrainingDivergedError",
    "finetune",
    "history_rows",
    "load_run_data",
    "train",
]
