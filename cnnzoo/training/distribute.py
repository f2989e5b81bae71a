"""Deprecated: the data-parallel cluster moved to :mod:`cnnzoo.training.cluster` and the
training coordinator to :mod:`cnnzoo.training.coordinator`."""

from cnnzoo.deprecation import moved

__getattr__ = moved(
    __name__,
    {
        "DATA_PARALLEL": ("cnnzoo.training.cluster", "DATA_PARALLEL"),
        "Cluster": ("cnnzoo.training.cluster", "TrainingCluster"),
        "check_distribution": ("cnnzoo.training.cluster", "check_distribution"),
        "Distributed": ("cnnzoo.training.coordinator", "MultiProcessCoordinator"),
        "OutsideDistribution": ("cnnzoo.training.coordinator", "OutsideDistribution"),
        "start": ("cnnzoo.training.coordinator", "start"),
    },
)
