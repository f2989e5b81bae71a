"""Transfer learning with cnnzoo models. So far: freezing (batch norm included) and named
multi-scale feature extraction."""

from cnnzoo.transfer.features import feature_extractor, stage_outputs
from cnnzoo.transfer.freezing import FreezeSummary, freeze

__all__ = ["FreezeSummary", "feature_extractor", "freeze", "stage_outputs"]
