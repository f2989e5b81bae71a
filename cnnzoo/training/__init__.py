"""Training runs: ``train`` writes a run folder that survives interruption."""

from cnnzoo.training.callbacks import TrainingDivergedError, history_rows
from cnnzoo.training.run import SCHEDULES, TrainResult, train
from cnnzoo.training.sources import SAMPLE, RunData, load_run_data

__all__ = [
    "SAMPLE",
    "SCHEDULES",
    "RunData",
    "TrainResult",
    "TrainingDivergedError",
    "history_rows",
    "load_run_data",
    "train",
]
