"""What a set of pretrained weights is: where its file comes from, what input it expects,
how well it did and under which licence, named in timm's ``<model>.<tag>`` convention.

The family files declare their weights (:attr:`cnnzoo.family.NamedModel.pretrained`) with
the constructors here, one per source: :func:`torchvision_weights`, :func:`timm_weights`
and :func:`keras_applications_weights`. Nothing here imports Keras.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_URL = "https://download.pytorch.org/models"
KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"
HUGGING_FACE_URL = "https://huggingface.co"
FORMATS = ("pth", "safetensors", "keras_h5")


@dataclass(frozen=True)
class Preprocessing:
    """The input a set of weights expects, from an RGB image with values in [0, 255]:
    resize the shorter side to ``resize_size`` with ``interpolation``, crop the centre
    ``input_size`` square, put the channels in ``channel_order``, then
    ``(pixels / 255 - mean) / std`` per channel.

    Attributes:
        input_size: Height and width of the centre crop the weights were evaluated at.
        resize_size: The shorter side before the crop (``input_size / crop_fraction``).
        mean: Per-channel mean on the [0, 1] scale, in ``channel_order``.
        std: Per-channel standard deviation on the [0, 1] scale, in ``channel_order``.
        interpolation: ``"bilinear"`` or ``"bicubic"``.
        channel_order: ``"RGB"``, or ``"BGR"`` (keras.applications' ``"caffe"`` weights).
    """

    input_size: int
    resize_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"
    channel_order: str = "RGB"

    @property
    def crop_fraction(self) -> float:
        """The fraction of the resized image the crop keeps, as timm's ``crop_pct``.

        Example:
            >>> round(Preprocessing(224, 256).crop_fraction, 3)
            0.875
        """
        return self.input_size / self.resize_size

    def describe(self) -> str:
        """One line, e.g. for ``cnnzoo weights info``.

        Example:
            >>> Preprocessing(224, 256, mean=(0.5,) * 3, std=(0.5,) * 3).describe()
            'resize 256 (bilinear), crop 224, RGB / 255, mean (0.5, 0.5, 0.5), std (0.5, 0.5, 0.5)'
        """
        return (
            f"resize {self.resize_size} ({self.interpolation}), crop {self.input_size}, "
            f"{self.channel_order} / 255, mean {_rounded(self.mean)}, std {_rounded(self.std)}"
        )

    def normalize(self, images):
        """``images`` (RGB, values in [0, 255], channels last, already resized and cropped)
        as the weights expect them: channels in ``channel_order``, then ``(images / 255 -
        mean) / std``. Images of other than 3 channels (whose first convolution was adapted)
        take the mean of the three means and standard deviations.

        Example:
            >>> import numpy as np
            >>> Preprocessing(224, 256, mean=(0.5,) * 3, std=(0.5,) * 3).normalize(
            ...     np.array([[0.0, 127.5, 255.0]])).tolist()
            [[-1.0, 0.0, 1.0]]
        """
        if not hasattr(images, "shape"):  # tensors (in a tf.data map) stay tensors
            images = np.asarray(images, dtype="float32")
        mean, std = np.asarray(self.mean, "float32"), np.asarray(self.std, "float32")
        if images.shape[-1] != 3:
            mean, std = mean.mean(), std.mean()
        elif self.channel_order == "BGR":
            images = images[..., ::-1]
        return (images / 255.0 - mean) / std


def _rounded(values) -> tuple[float, ...]:
    return tuple(round(value, 4) for value in values)


@dataclass(frozen=True)
class PretrainedWeights:
    """One set of pretrained weights for one named model.

    Attributes:
        model: The registered name whose layout the weights fit (``"resnet50"``).
        tag: The weights' name after the dot (``"tv_in1k"``); ``name`` joins the two.
        url: Where the file is downloaded from.
        file_name: The file's name in the cache folder.
        checksum: The SHA-256 of the file, or its first hex digits where the source
            publishes only those (torchvision's file names), or an MD5 (32 hex digits,
            keras.applications); empty where the source publishes none.
        format: ``"pth"`` (a PyTorch state dict), ``"safetensors"`` or ``"keras_h5"``
            (keras.applications' file).
        preprocessing: The input the weights expect.
        top1: ImageNet-1k validation top-1 accuracy in percent, as the source reports it.
        licence: The licence the source gives the weights under.
        source: Who trained or published them, and where the figures come from.
        num_classes: The classifier's classes (1,000 for ImageNet-1k).
        builder_args: Arguments the named model needs to have this layout, where they
            differ from its defaults (``{"variant": "v1"}`` for keras' ResNet50).
        checksum_without_top: The checksum of the source's file without the classifier,
            where it publishes one (keras.applications' ``..._notop.h5``): a model built
            without its top downloads that one (:meth:`without_top`).
    """

    model: str
    tag: str
    url: str
    file_name: str
    checksum: str
    format: str
    preprocessing: Preprocessing
    top1: float | None
    licence: str
    source: str
    num_classes: int = 1000
    builder_args: tuple[tuple[str, object], ...] = ()
    checksum_without_top: str | None = None

    def without_top(self) -> PretrainedWeights:
        """The entry for the source's file without the classifier (``_notop.h5``, its URL
        and checksum), or this entry where there is none.

        Example:
            >>> entry = keras_applications_weights("vgg16", "vgg16", "6437", 71.3,
            ...     mode="caffe", licence="CC-BY-4.0", checksum_without_top="6d6b")
            >>> entry.without_top().file_name, entry.without_top().checksum
            ('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5', '6d6b')
        """
        if self.checksum_without_top is None:
            return self
        stem, suffix = self.file_name.rsplit(".", 1)
        file_name = f"{stem}_notop.{suffix}"
        return dataclasses.replace(
            self,
            url=self.url.rsplit("/", 1)[0] + "/" + file_name,
            file_name=file_name,
            checksum=self.checksum_without_top,
            checksum_without_top=None,
        )

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}; received format={self.format!r}.")

    @property
    def name(self) -> str:
        """``<model>.<tag>``, the name ``weights=`` and ``cnnzoo weights`` take."""
        return f"{self.model}.{self.tag}"


def torchvision_weights(
    model: str,
    file_name: str,
    top1: float,
    *,
    tag: str = "tv_in1k",
    input_size: int = 224,
    resize_size: int = 256,
    inputs_in_minus_one_to_one: bool = False,
    builder_args: tuple[tuple[str, object], ...] = (),
) -> PretrainedWeights:
    """torchvision's ImageNet-1k weights: a ``.pth`` state dict whose file name ends in the
    first 8 hex digits of its SHA-256, with ``ImageClassification`` preprocessing.

    GoogLeNet's and Inception v3's weights (ported from TensorFlow) expect inputs in
    [-1, 1]: torchvision turns its ImageNet normalization back into that scale inside the
    model (``transform_input=True``), which cnnzoo's models leave to the preprocessing
    (``inputs_in_minus_one_to_one``).

    Example:
        >>> torchvision_weights("resnet18", "resnet18-f37072fd.pth", 69.758).checksum
        'f37072fd'
    """
    scale = ((0.5,) * 3, (0.5,) * 3) if inputs_in_minus_one_to_one else ()
    return PretrainedWeights(
        model=model,
        tag=tag,
        url=f"{TORCHVISION_URL}/{file_name}",
        file_name=file_name,
        checksum=file_name.rsplit("-", 1)[-1].split(".")[0],
        format="pth",
        preprocessing=Preprocessing(input_size, resize_size, *scale),
        top1=top1,
        licence="BSD-3-Clause",
        source="torchvision (top-1 from its weights' metadata)",
        builder_args=builder_args,
    )


def timm_weights(
    model: str,
    tag: str,
    top1: float | None,
    *,
    input_size: int = 224,
    crop_fraction: float = 0.95,
    interpolation: str = "bicubic",
    licence: str = "Apache-2.0",
) -> PretrainedWeights:
    """timm's weights on the Hugging Face hub (``timm/<model>.<tag>``, ``model.safetensors``).
    The hub publishes no checksum in timm's configuration, so none is checked.

    Example:
        >>> timm_weights("resnet50", "a1_in1k", 80.1).url
        'https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors'
    """
    return PretrainedWeights(
        model=model,
        tag=tag,
        url=f"{HUGGING_FACE_URL}/timm/{model}.{tag}/resolve/main/model.safetensors",
        file_name=f"timm--{model}.{tag}.safetensors",
        checksum="",
        format="safetensors",
        preprocessing=Preprocessing(
            input_size, round(input_size / crop_fraction), interpolation=interpolation
        ),
        top1=top1,
        licence=licence,
        source="timm, on the Hugging Face hub (top-1 at 224: Wightman et al. 2021)",
    )


KERAS_PREPROCESSING = {
    # keras.applications' "caffe": BGR, minus the ImageNet mean on the 0-255 scale.
    "caffe": Preprocessing(
        224,
        256,
        mean=(103.939 / 255, 116.779 / 255, 123.68 / 255),
        std=(1 / 255,) * 3,
        channel_order="BGR",
    ),
    # "tf": scaled to [-1, 1].
    "tf": Preprocessing(224, 256, mean=(0.5,) * 3, std=(0.5,) * 3),
}


def keras_applications_weights(
    model: str,
    url_folder: str,
    checksum: str,
    top1: float,
    *,
    mode: str,
    licence: str,
    input_size: int = 224,
    builder_args: tuple[tuple[str, object], ...] = (),
    checksum_without_top: str | None = None,
) -> PretrainedWeights:
    """keras.applications' ImageNet weights with the classifier, as
    ``keras.utils.get_file`` names and checks them (MD5); ``checksum_without_top`` is its
    ``_notop.h5`` file's.

    Example:
        >>> keras_applications_weights(
        ...     "vgg16", "vgg16", "64373286793e3c8b2b4e3219cbf3544b", 71.3, mode="caffe",
        ...     licence="CC-BY-4.0").file_name
        'vgg16_weights_tf_dim_ordering_tf_kernels.h5'
    """
    base = KERAS_PREPROCESSING[mode]
    resize = round(input_size / base.crop_fraction)
    file_name = f"{model}_weights_tf_dim_ordering_tf_kernels.h5"
    return PretrainedWeights(
        model=model,
        tag="keras_in1k",
        url=f"{KERAS_URL}/{url_folder}/{file_name}",
        file_name=file_name,
        checksum=checksum,
        format="keras_h5",
        preprocessing=Preprocessing(
            input_size, resize, base.mean, base.std, channel_order=base.channel_order
        ),
        top1=top1,
        licence=licence,
        source="keras.applications (top-1 from its documentation's table)",
        builder_args=builder_args,
        checksum_without_top=checksum_without_top,
    )
