"""Honest evaluation of a classifier: how often it is right, how far its confidence can be
trusted, and whether averaging over views of an image helps.

- :func:`top_k_accuracy`, :func:`classification_scores` (per-class precision, recall, F1),
  :func:`negative_log_likelihood`;
- :func:`expected_calibration_error` and :func:`reliability_bins` (Guo et al. 2017);
- :func:`fit_temperature` and :func:`apply_temperature`: temperature scaling, whose fitted
  value a run keeps in ``calibration.json`` (:func:`write_calibration`,
  :func:`read_calibration`);
- :func:`test_time_augmentation` over the :func:`tta_views` ``flip`` and ``crops``.

``cnnzoo evaluate RUN`` (:func:`cnnzoo.cli.runs.evaluate_run`) reports them all; the
pictures are :func:`cnnzoo.viz.reliability_diagram` and
:func:`cnnzoo.viz.prediction_gallery`.
"""

from cnnzoo.evaluation.calibration import (
    CALIBRATION_FILE,
    apply_temperature,
    as_logits,
    fit_temperature,
    read_calibration,
    write_calibration,
)
from cnnzoo.evaluation.metrics import (
    ECE_BINS,
    classification_scores,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
    top_k_accuracy,
)
from cnnzoo.evaluation.tta import TTA_MODES, test_time_augmentation, tta_views

__all__ = [
    "CALIBRATION_FILE",
    "ECE_BINS",
    "TTA_MODES",
    "apply_temperature",
    "as_logits",
    "classification_scores",
    "expected_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "read_calibration",
    "reliability_bins",
    "test_time_augmentation",
    "top_k_accuracy",
    "tta_views",
    "write_calibration",
]
