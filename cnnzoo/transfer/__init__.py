"""Transfer learning with cnnzoo models: freezing (batch norm included), new heads,
named multi-scale features, two-phase fine-tuning (with layer-wise learning rates) and
pretrained weights."""

from cnnzoo.deprecation import moved
from cnnzoo.transfer.features import feature_extractor, stage_outputs
from cnnzoo.transfer.finetune import FineTuneHistory, Phase, fit_in_phases
from cnnzoo.transfer.freezing import FreezeSummary, freeze, unfreeze
from cnnzoo.transfer.heads import backbone_output, replace_head
from cnnzoo.transfer.imagenet import (
    MissingWeightsError,
    imagenet_preprocessing,
    keras_cache_folder,
    load_imagenet_weights,
)
from cnnzoo.transfer.kernels import adapt_input_kernel, inflate_kernel
from cnnzoo.transfer.layer_decay import (
    ScaledSchedule,
    layer_decay_factors,
    layer_decay_optimizer,
    layer_groups,
    learning_rates,
)
from cnnzoo.transfer.torch_weights import (
    LogitDifference,
    compare_logits,
    export_state_dict,
    port_state_dict,
    torch_layouts,
)
from cnnzoo.transfer.weights import WeightsMismatchError, WeightsReport, load_weights

__all__ = [
    "FineTuneHistory",
    "FreezeSummary",
    "LogitDifference",
    "MissingWeightsError",
    "Phase",
    "ScaledSchedule",
    "WeightsMismatchError",
    "WeightsReport",
    "adapt_input_kernel",
    "backbone_output",
    "compare_logits",
    "export_state_dict",
    "feature_extractor",
    "fit_in_phases",
    "freeze",
    "imagenet_preprocessing",
    "inflate_kernel",
    "keras_cache_folder",
    "layer_decay_factors",
    "layer_decay_optimizer",
    "layer_groups",
    "learning_rates",
    "load_imagenet_weights",
    "load_weights",
    "port_state_dict",
    "replace_head",
    "stage_outputs",
    "torch_layouts",
    "unfreeze",
]

# Old names, kept working with a DeprecationWarning.
__getattr__ = moved(__name__, {"fine_tune": ("cnnzoo.transfer", "fit_in_phases")})
