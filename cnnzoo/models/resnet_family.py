"""The named ResNets (ImageNet v1.5 and v2, CIFAR-10) and the ResNet family declaration.

The builders and the paper's tables are in :mod:`cnnzoo.models.resnet`, the stride plan in
:mod:`cnnzoo.models.resnet_strides`.
"""

from __future__ import annotations

import re

import keras

from cnnzoo.family import Family, KerasApplicationsWeights, NamedModel, SearchDefaults, TorchLayout
from cnnzoo.models.common_args import forwards_to
from cnnzoo.models.resnet import CIFAR_PAPER_MILLIONS, PAPER, PAPER_V2, cifar_resnet, resnet
from cnnzoo.pretrained.tags import (
    PretrainedWeights,
    keras_applications_weights,
    timm_weights,
    torchvision_weights,
)
from cnnzoo.registry import register_family


@forwards_to(resnet, fixed={"depth": 18})
def resnet18(**kwargs) -> keras.Model:
    """ResNet-18 (v1.5): basic blocks (2, 2, 2, 2). See :func:`resnet`.

    Example:
        >>> resnet18(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 512)
    """
    return resnet(18, **kwargs)


@forwards_to(resnet, fixed={"depth": 34})
def resnet34(**kwargs) -> keras.Model:
    """ResNet-34 (v1.5): basic blocks (3, 4, 6, 3). See :func:`resnet`.

    Example:
        >>> resnet34(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 512)
    """
    return resnet(34, **kwargs)


@forwards_to(resnet, fixed={"depth": 50})
def resnet50(**kwargs) -> keras.Model:
    """ResNet-50 (v1.5): bottleneck blocks (3, 4, 6, 3). See :func:`resnet`.

    Example:
        >>> resnet50(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(50, **kwargs)


@forwards_to(resnet, fixed={"depth": 101})
def resnet101(**kwargs) -> keras.Model:
    """ResNet-101 (v1.5): bottleneck blocks (3, 4, 23, 3). See :func:`resnet`.

    Example:
        >>> resnet101(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(101, **kwargs)


@forwards_to(resnet, fixed={"depth": 152})
def resnet152(**kwargs) -> keras.Model:
    """ResNet-152 (v1.5): bottleneck blocks (3, 8, 36, 3). See :func:`resnet`.

    Example:
        >>> resnet152(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(152, **kwargs)


@forwards_to(resnet, fixed={"depth": 50}, defaults={"variant": "v2", "downsample": "last"})
def resnet50v2(**kwargs) -> keras.Model:
    """ResNet-50 v2 (pre-activation), keras.applications' ResNet50V2:
    bottleneck blocks (3, 4, 6, 3). See :func:`resnet`.

    Example:
        >>> resnet50v2(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(50, **kwargs)


@forwards_to(resnet, fixed={"depth": 101}, defaults={"variant": "v2", "downsample": "last"})
def resnet101v2(**kwargs) -> keras.Model:
    """ResNet-101 v2 (pre-activation), keras.applications' ResNet101V2:
    bottleneck blocks (3, 4, 23, 3). See :func:`resnet`.

    Example:
        >>> resnet101v2(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(101, **kwargs)


@forwards_to(resnet, fixed={"depth": 152}, defaults={"variant": "v2", "downsample": "last"})
def resnet152v2(**kwargs) -> keras.Model:
    """ResNet-152 v2 (pre-activation), keras.applications' ResNet152V2:
    bottleneck blocks (3, 8, 36, 3). See :func:`resnet`.

    Example:
        >>> resnet152v2(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 2048)
    """
    return resnet(152, **kwargs)


@forwards_to(cifar_resnet, fixed={"depth": 20})
def resnet20(**kwargs) -> keras.Model:
    """ResNet-20 for CIFAR-10 (section 4.2): three stages of 3 basic blocks.
    See :func:`cifar_resnet`.

    Example:
        >>> resnet20().output_shape
        (None, 10)
    """
    return cifar_resnet(20, **kwargs)


@forwards_to(cifar_resnet, fixed={"depth": 32})
def resnet32(**kwargs) -> keras.Model:
    """ResNet-32 for CIFAR-10 (section 4.2): three stages of 5 basic blocks.
    See :func:`cifar_resnet`.

    Example:
        >>> resnet32().output_shape
        (None, 10)
    """
    return cifar_resnet(32, **kwargs)


@forwards_to(cifar_resnet, fixed={"depth": 44})
def resnet44(**kwargs) -> keras.Model:
    """ResNet-44 for CIFAR-10 (section 4.2): three stages of 7 basic blocks.
    See :func:`cifar_resnet`.

    Example:
        >>> resnet44().output_shape
        (None, 10)
    """
    return cifar_resnet(44, **kwargs)


@forwards_to(cifar_resnet, fixed={"depth": 56})
def resnet56(**kwargs) -> keras.Model:
    """ResNet-56 for CIFAR-10 (section 4.2): three stages of 9 basic blocks.
    See :func:`cifar_resnet`.

    Example:
        >>> resnet56().output_shape
        (None, 10)
    """
    return cifar_resnet(56, **kwargs)


@forwards_to(cifar_resnet, fixed={"depth": 110})
def resnet110(**kwargs) -> keras.Model:
    """ResNet-110 for CIFAR-10 (section 4.2): three stages of 18 basic blocks.
    See :func:`cifar_resnet`.

    Example:
        >>> resnet110().output_shape
        (None, 10)
    """
    return cifar_resnet(110, **kwargs)


_TORCHVISION = "torchvision num_params"
_NOTES = {
    "v1.5": (
        "Variant v1.5 (torchvision): no convolution bias before batch norm, and the 3x3 "
        "convolution of a bottleneck takes the stride (the paper strides the first 1x1; "
        "variant='v1' does, as keras.applications). Projection shortcuts (option B) only "
        "where the shape changes; He-normal initialization."
    ),
    "v2": (
        "Pre-activation blocks (He et al. 2016) exactly as keras.applications' ResNet*V2: "
        "the last block of stages 1-3 downsamples (subsampled identity shortcut), where "
        "the paper strides the first block of stages 2-4 (resnet(depth, variant='v2', "
        "downsample='first')). Stage outputs are therefore 28, 14, 7, 7 at 224."
    ),
    "cifar": (
        "CIFAR-10 network of section 4.2: 3x3 stem with 16 filters, stages of 16/32/64 "
        "filters, option A (zero-padded identity) shortcuts, 10 classes. Batch norm with "
        "learned scale and offset; no convolution biases."
    ),
}
_V1_HINT = ' Build it with resnet({depth}, variant="v1"), the layout of keras.applications.'
_V2_HINT = (
    " keras.applications' ResNet{depth}V2 downsamples in the last block of stages 1-3: build"
    " it with resnet{depth}v2(), or resnet({depth}, variant='v2', downsample='last')."
)
IMAGENET_SEARCH_DEPTHS = {18: "resnet18", 34: "resnet34", 50: "resnet50"}
CIFAR_SEARCH_DEPTHS = {20: "resnet20", 32: "resnet32", 44: "resnet44", 56: "resnet56"}


# torchvision's files and top-1 (IMAGENET1K_V1, and V2 where it exists: resized to 232).
_TORCHVISION_WEIGHTS = {
    18: ("resnet18-f37072fd.pth", 69.758, None),
    34: ("resnet34-b627a593.pth", 73.314, None),
    50: ("resnet50-0676ba61.pth", 76.130, ("resnet50-11ad3fa6.pth", 80.858)),
    101: ("resnet101-63fe2227.pth", 77.374, ("resnet101-cd907fc2.pth", 81.886)),
    152: ("resnet152-394f9c45.pth", 78.312, ("resnet152-f82ba261.pth", 82.284)),
}
# timm's "ResNet strikes back" A1 weights (same layout and names as torchvision's): top-1
# at 224 from the paper (Wightman et al. 2021, arXiv:2110.00476).
_TIMM_A1_TOP1 = {18: 71.5, 34: 76.4, 50: 80.4, 101: 81.5, 152: 82.0}
# keras.applications: MD5 of the file with the top, and top-1 from its documentation.
_KERAS_V1 = {
    50: ("2cb95161c43110f7111970584f804107", 74.9, "4d473c1dd8becc155b73f8504c6f6626"),
    101: ("f1aeb4b969a6efcfb50fad2f0c20cfc5", 76.4, "88cf7a10940856eca736dc7b7e228a21"),
    152: ("100835be76be38e30d865e96f2aaae62", 76.6, "ee4c566cf9a93f14d82f913c2dc6dd0c"),
}
_KERAS_V2 = {
    50: ("3ef43a0b657b3be2300d5770ece849e0", 76.0, "fac2f116257151a9d068a22e544a4917"),
    101: ("6343647c601c52e1368623803854d971", 77.2, "c0ed64b8031c3730f411d2eb4eea35b5"),
    152: ("a49b44d1979771252814e80f8ec446f9", 78.0, "ed17cf2e0169df9d443503ef94b23b33"),
}


def _imagenet_weights(name: str, depth: int) -> tuple[PretrainedWeights, ...]:
    file_name, top1, version2 = _TORCHVISION_WEIGHTS[depth]
    weights = [torchvision_weights(name, file_name, top1)]
    if version2:
        weights.append(torchvision_weights(name, *version2, tag="tv2_in1k", resize_size=232))
    weights.append(timm_weights(name, "a1_in1k", _TIMM_A1_TOP1[depth]))
    if depth in _KERAS_V1:  # the v1 layout: resnet(depth, variant="v1")
        checksum, top1, checksum_without_top = _KERAS_V1[depth]
        weights.append(
            keras_applications_weights(
                name,
                "resnet",
                checksum,
                top1,
                mode="caffe",
                licence="MIT",
                builder_args=(("variant", "v1"),),
                checksum_without_top=checksum_without_top,
            )
        )
    return tuple(weights)


def torchvision_module(layer: str) -> str | None:
    """torchvision's (and timm's) name of a v1.5 ResNet layer: ``layer{i}.{j-1}`` is
    ``stage{i}_block{j}``, whose ``conv{k}``/``bn{k}`` are ``_{k}_conv``/``_{k}_bn`` and whose
    ``downsample.0``/``.1`` is the projection shortcut.

    Example:
        >>> [torchvision_module(name) for name in ("stem_bn", "stage2_block1_shortcut_bn",
        ...                                        "stage4_block3_3_conv", "predictions")]
        ['bn1', 'layer2.0.downsample.1', 'layer4.2.conv3', 'fc']
    """
    fixed = {"stem_conv": "conv1", "stem_bn": "bn1", "predictions": "fc"}
    if layer in fixed:
        return fixed[layer]
    match = re.fullmatch(r"stage(\d+)_block(\d+)_(\d|shortcut)_(conv|bn)", layer)
    if match is None:
        return None
    stage, block, index, kind = match.groups()
    prefix = f"layer{stage}.{int(block) - 1}"
    if index == "shortcut":
        return f"{prefix}.downsample.{0 if kind == 'conv' else 1}"
    return f"{prefix}.{kind}{index}"


def _imagenet(function, depth: int, params: int) -> NamedModel:
    keras_weights = None
    if depth in (50, 101, 152):  # keras.applications has the v1 layout of these
        hint = _V1_HINT.format(depth=depth)
        keras_weights = KerasApplicationsWeights(
            f"ResNet{depth}", "resnet", "resnet", "caffe", hint=hint
        )
    return NamedModel(
        function,
        reference_params=params,
        reference_source=_TORCHVISION,
        reference_counts="trainable",
        notes=_NOTES["v1.5"],
        depth=depth,
        search_depths=IMAGENET_SEARCH_DEPTHS,
        torch_layout=TorchLayout(function.__name__, torchvision_module),
        keras_weights=keras_weights,
        pretrained=_imagenet_weights(function.__name__, depth),
    )


def _v2(function, depth: int, params: int) -> NamedModel:
    hint = _V2_HINT.format(depth=depth)
    return NamedModel(
        function,
        reference_params=params,
        reference_source="keras.applications count_params()",
        notes=_NOTES["v2"],
        paper=PAPER_V2,
        year=2016,
        depth=depth,
        search_depths=IMAGENET_SEARCH_DEPTHS,
        keras_weights=KerasApplicationsWeights(
            f"ResNet{depth}V2", "resnet_v2", "resnet", "tf", hint=hint
        ),
        pretrained=(
            keras_applications_weights(
                function.__name__,
                "resnet",
                *_KERAS_V2[depth][:2],
                mode="tf",
                licence="Apache-2.0",
                checksum_without_top=_KERAS_V2[depth][2],
            ),
        ),
    )


def _cifar(function, depth: int) -> NamedModel:
    return NamedModel(
        function,
        reference_source=f"the paper's Table 6: {CIFAR_PAPER_MILLIONS[depth]}M parameters",
        notes=_NOTES["cifar"],
        default_input_shape=(32, 32, 3),
        min_input_size=3,
        depth=depth,
        search_depths=CIFAR_SEARCH_DEPTHS,
    )


FAMILY = Family(
    name="resnet",
    builder=resnet,
    paper=PAPER,
    year=2015,
    default_input_shape=(224, 224, 3),
    min_input_size=17,
    models=(
        _imagenet(resnet18, 18, 11_689_512),
        _imagenet(resnet34, 34, 21_797_672),
        _imagenet(resnet50, 50, 25_557_032),
        _imagenet(resnet101, 101, 44_549_160),
        _imagenet(resnet152, 152, 60_192_808),
        _v2(resnet50v2, 50, 25_613_800),
        _v2(resnet101v2, 101, 44_675_560),
        _v2(resnet152v2, 152, 60_380_648),
        _cifar(resnet20, 20),
        _cifar(resnet32, 32),
        _cifar(resnet44, 44),
        _cifar(resnet56, 56),
        _cifar(resnet110, 110),
    ),
    search_model="resnet50",
    search=SearchDefaults(knobs=("depth", "width"), batch_norm=True),
    scale_width=lambda defaults, factor: {"width": factor},
)
register_family(FAMILY)
