"""Hyperparameter search with KerasTuner: search spaces from the zoo's spec tables, a
fine-tune-aware hypermodel, a resumable one-call runner and distributed search."""

from cnnzoo.deprecation import moved
from cnnzoo.tuning.distributed import SearchCluster
from cnnzoo.tuning.hypermodel import CNNHyperModel
from cnnzoo.tuning.search import SearchResult, search
from cnnzoo.tuning.space import KNOBS, describe_space

__all__ = ["KNOBS", "CNNHyperModel", "SearchCluster", "SearchResult", "describe_space", "search"]

# Old names, kept working with a DeprecationWarning.
__getattr__ = moved(__name__, {"Distributed": ("cnnzoo.tuning", "SearchCluster")})
