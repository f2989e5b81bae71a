"""Transfer learning with cnnzoo models. So far: named multi-scale feature extraction."""

from cnnzoo.transfer.features import feature_extractor, stage_outputs

__all__ = ["feature_extractor", "stage_outputs"]
