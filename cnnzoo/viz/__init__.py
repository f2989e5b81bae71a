"""Pictures for learners, each written as a PNG.

- :func:`augmentation_grid`: what an augmentation does to real images.
- :func:`learning_curves`: loss and metrics per epoch, training beside validation, the
  best epoch marked (:func:`best_epoch`) and a fine-tuning run's phases named.
- :func:`first_layer_filters`: the kernels of the first convolution.
- :func:`feature_maps`: the hierarchy of features, one row per layer, for one image.
- :func:`confusion_matrix`: which classes are mistaken for which
  (:func:`confusion_counts` gives the numbers).
- :func:`reliability_diagram`: accuracy against confidence, before and after temperature
  scaling (:mod:`cnnzoo.evaluation`).
- :func:`prediction_gallery`: the most confident mistakes and the least confident correct
  answers (:func:`gallery_picks` chooses them).
- :func:`heatmap_overlay`: a heat map of :mod:`cnnzoo.explain` over its image.
- :func:`filter_responses`: hand-made edge filters (Prewitt, Sobel, ...) on an image,
  beside a trained first layer.

The figures are built without ``pyplot``: nothing stays open and the matplotlib backend is
left alone. The functions added with the figures return the ``Figure``;
:func:`augmentation_grid` returns the path written.
"""

from cnnzoo.viz.augmentation import augmentation_grid
from cnnzoo.viz.calibration import reliability_diagram
from cnnzoo.viz.confusion import confusion_counts, confusion_matrix
from cnnzoo.viz.curves import best_epoch, learning_curves, read_history
from cnnzoo.viz.features import feature_maps
from cnnzoo.viz.gallery import gallery_picks, prediction_gallery
from cnnzoo.viz.heatmap import heatmap_overlay
from cnnzoo.viz.kernels import filter_responses, first_convolution, first_layer_filters

__all__ = [
    "augmentation_grid",
    "best_epoch",
    "confusion_counts",
    "confusion_matrix",
    "feature_maps",
    "filter_responses",
    "first_convolution",
    "first_layer_filters",
    "gallery_picks",
    "heatmap_overlay",
    "learning_curves",
    "prediction_gallery",
    "read_history",
    "reliability_diagram",
]
