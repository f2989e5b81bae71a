"""Data for cnnzoo: the bundled samples, image folders, TensorFlow Datasets, and the one
``tf.data`` pipeline that turns any of them into what a model takes.

- :func:`load_sample`: the MNIST sample shipped with the package.
- :func:`from_folder`: a class-per-subfolder image tree, checked file by file (corrupt,
  truncated and non-image files, empty classes, channel mismatches are reported by path).
- :func:`from_tfds`: a TFDS dataset as ``(image, label)`` with class names, and a clear
  error when it is not prepared offline.
- :func:`pipeline`: resize, channels, value range, cache, shuffle, batch, augment,
  MixUp/CutMix, prefetch.
"""

from cnnzoo.data.folder import FolderData, from_folder, load_class_names
from cnnzoo.data.pipeline import pipeline
from cnnzoo.data.sample import SampleSplits, Split, load_sample
from cnnzoo.data.scan import FolderReport
from cnnzoo.data.tfds import DatasetNotPreparedError, TFDSData, from_tfds

__all__ = [
    "DatasetNotPreparedError",
    "FolderData",
    "FolderReport",
    "SampleSplits",
    "Split",
    "TFDSData",
    "from_folder",
    "from_tfds",
    "load_class_names",
    "load_sample",
    "pipeline",
]
