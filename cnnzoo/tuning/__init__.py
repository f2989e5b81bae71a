"""Hyperparameter search with KerasTuner: search spaces from the zoo's spec tables, a
fine-tune-aware hypermodel, a resumable one-call runner and distributed search."""

from cnnzoo.tuning.distributed import Distributed
from cnnzoo.tuning.hypermodel import CNNHyperModel
from cnnzoo.tuning.search import SearchResult, search
from cnnzoo.tuning.space import KNOBS, describe_space

__all__ = ["KNOBS", "CNNHyperModel", "Distributed", "SearchResult", "describe_space", "search"]
