"""Transfer learning with cnnzoo models: freezing (batch norm included), new heads,
named multi-scale features and two-phase fine-tuning."""

from cnnzoo.transfer.features import feature_extractor, stage_outputs
from cnnzoo.transfer.finetune import FineTuneHistory, Phase, fine_tune
from cnnzoo.transfer.freezing import FreezeSummary, freeze, unfreeze
from cnnzoo.transfer.heads import backbone_output, replace_head

__all__ = [
    "FineTuneHistory",
    "FreezeSummary",
    "Phase",
    "backbone_output",
    "feature_extractor",
    "fine_tune",
    "freeze",
    "replace_head",
    "stage_outputs",
    "unfreeze",
]
