"""Image files as a set of pretrained weights expects them: the shorter side resized, the
centre cropped, the pixels normalized (what torchvision's and timm's evaluation transforms
do, for :func:`cnnzoo.cli.runs.predict_images` on a tag)."""

from __future__ import annotations

import numpy as np

from cnnzoo.pretrained.tags import Preprocessing


def prepare_image(path, preprocessing: Preprocessing) -> np.ndarray:
    """The image at ``path`` as an ``(input_size, input_size, 3)`` float32 array: converted
    to RGB, its shorter side resized to ``resize_size`` with the weights' interpolation,
    the centre ``input_size`` square cropped, then :meth:`Preprocessing.normalize`.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = tempfile.mkdtemp() + "/wide.png"
        >>> Image.new("RGB", (300, 150), (255, 255, 255)).save(path)
        >>> image = prepare_image(path, Preprocessing(224, 256, mean=(0.5,) * 3, std=(0.5,) * 3))
        >>> image.shape, float(image.min()), float(image.max())
        ((224, 224, 3), 1.0, 1.0)
    """
    from PIL import Image

    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[preprocessing.interpolation]
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    scale = preprocessing.resize_size / min(image.size)
    size = tuple(max(preprocessing.input_size, round(side * scale)) for side in image.size)
    image = image.resize(size, resample)
    left = (size[0] - preprocessing.input_size) // 2
    top = (size[1] - preprocessing.input_size) // 2
    image = image.crop((left, top, left + preprocessing.input_size, top + preprocessing.input_size))
    return preprocessing.normalize(np.asarray(image, dtype="float32"))
