"""VGG (Simonyan and Zisserman, 2014), configurations A, B, D and E, with and without batch norm."""

from __future__ import annotations

import keras

from cnnzoo.checks import (
    check_choice,
    check_units,
)
from cnnzoo.family import (
    Family,
    KerasApplicationsWeights,
    NamedModel,
    SearchDefaults,
    TorchLayout,
    scaled,
)
from cnnzoo.layers import conv_norm_act, pool
from cnnzoo.models.common_args import (
    check_window,
    common_args,
    forwards_to,
    keyword_checked,
    naming_input_shape,
    per_stage_paddings,
    per_stage_windows,
)
from cnnzoo.pretrained.tags import (
    PretrainedWeights,
    keras_applications_weights,
    torchvision_weights,
)
from cnnzoo.registry import register_family

PAPER = (
    "Simonyan, Zisserman. Very Deep Convolutional Networks for Large-Scale Image "
    "Recognition. arXiv:1409.1556, 2014"
)

# The paper's Table 1: 3x3 convolutions per stage, each stage ending in 2x2/2 max pooling.
CONFIGS = {
    "vgg11": (1, 1, 2, 2, 2),  # A
    "vgg13": (2, 2, 2, 2, 2),  # B
    "vgg16": (2, 2, 3, 3, 3),  # D
    "vgg19": (2, 2, 4, 4, 4),  # E
}
WIDTHS = (64, 128, 256, 512, 512)
FC_UNITS = (4096, 4096)


@keyword_checked
def vgg(
    config: str = "vgg16",
    *,
    num_classes: int = 1000,
    input_shape: tuple = (224, 224, 3),
    depths: tuple[int, ...] | None = None,
    widths: tuple[int, ...] = WIDTHS,
    kernel_size=3,
    strides=1,
    padding="same",
    pool_size=2,
    fc_units: tuple[int, ...] = FC_UNITS,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation="softmax",
    dropout: float = 0.5,
    name: str | None = None,
    activation="relu",
    norm: str | None = None,
    kernel_regularizer=None,
    noise: float | None = None,
    augmentation=None,
    weights=None,
) -> keras.Model:
    """A VGG network from the paper's Table 1; ``vgg11`` ... ``vgg19_bn`` call this.

    Stages of 3x3 convolutions ("same" padding, ReLU), each ending in 2x2/2 max pooling,
    then FC 4096-4096 with dropout 0.5 and the classifier. With ``norm="batch"`` each
    convolution is followed by batch norm and keeps its bias, as in torchvision's
    ``vgg*_bn``.

    Layer names: ``stage{i}_block{j}_conv`` / ``_bn`` / ``_act``, ``stage{i}_pool``,
    ``stage{i}_out``, then ``head_flatten``, ``head_fc1``, ``head_fc2``, ``predictions``.

    The head flattens the last feature map as it is, as keras.applications does.
    torchvision first pools it adaptively to 7x7, which is the identity where the map is
    7x7 already (inputs of 224 to 255 per axis): there the two compute the same with the
    same weights (:func:`cnnzoo.transfer.port_state_dict`). At other sizes ``head_fc1``
    reads another number of inputs, and torchvision's weights do not fit it; the
    backbone (``include_top=False``) computes torchvision's ``features`` at any size.

    Args:
        config: ``"vgg11"`` (A), ``"vgg13"`` (B), ``"vgg16"`` (D) or ``"vgg19"`` (E).
        num_classes: Number of outputs.
        input_shape: Any size of at least 32 per axis with the default pooling; any
            channel count; 1-D and 3-D shapes build 1-D and 3-D networks.
        depths: Convolutions per stage; overrides the config.
        widths: Filters per stage.
        kernel_size: Convolution kernel: one value, or one per stage.
        strides: Stride of each stage's first convolution: one value, or one per stage.
        padding: Convolution padding: one value, or one per stage.
        pool_size: Window and stride of the max pooling ending each stage.
        fc_units: Hidden fully connected layers.
        include_top: Whether to add the fully connected layers.
        pooling: ``None``, ``"flatten"`` (the default with the top), ``"avg"`` or ``"max"``.
        classifier_activation: Activation of ``predictions``.
        dropout: Dropout after each hidden fully connected layer (the paper's 0.5).
        name: Model name (defaults to the config, with ``_bn`` for batch norm).
        activation: Activation of every layer.
        norm: ``None`` or ``"batch"``.
        kernel_regularizer: ``"l2"``, ``("l2", 5e-4)`` (the paper's weight decay), ...
        noise: Standard deviation of Gaussian input noise in training.
        augmentation: Keras preprocessing layers applied to the input in training.
        weights: Pretrained weights: a tag such as ``"vgg16.tv_in1k"``, ``"vgg16_bn.tv_in1k"``
            (``cnnzoo.list_pretrained()``), downloaded into the Keras cache the first
            time; ``"imagenet"``, the first tag that fits the other arguments; or a file
            (``.pth``, ``.safetensors``, a keras.applications ``.h5``, ``.keras``,
            ``.weights.h5``) or a model (:func:`~cnnzoo.transfer.imagenet.load_pretrained`).

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: For a bad argument or an input too small for the five poolings.

    Example:
        >>> model = vgg("vgg11", input_shape=(32, 32, 3), num_classes=10, fc_units=(64,))
        >>> model.get_layer("stage5_out").output.shape
        (None, 1, 1, 512)
    """
    check_choice("config", config, tuple(CONFIGS))
    args = common_args(locals(), default_name=(config + ("_bn" if norm == "batch" else "")))
    depths = check_units("depths", CONFIGS[config] if depths is None else depths)
    widths = check_units("widths", widths)
    if len(widths) != len(depths):
        raise ValueError(
            f"widths must give one width per stage ({len(depths)} stages); "
            f"received widths={widths!r}."
        )
    stages, rank = len(depths), args.spatial_rank
    kernel_sizes = per_stage_windows("kernel_size", kernel_size, stages, rank)
    stage_strides = per_stage_windows("strides", strides, stages, rank)
    paddings = per_stage_paddings("padding", padding, stages, rank)
    check_window("pool_size", pool_size, rank)
    fc_units = check_units("fc_units", fc_units)

    hint = f" With 'same' padding, {stages} poolings of {pool_size} need {pool_size}**{stages}."
    with naming_input_shape(args.input_shape, hint):
        inputs, x = args.model_input()
        for stage, (depth, width) in enumerate(zip(depths, widths, strict=True), start=1):
            for block in range(1, depth + 1):
                x = conv_norm_act(
                    x,
                    width,
                    kernel_sizes[stage - 1],
                    strides=stage_strides[stage - 1] if block == 1 else 1,
                    padding=paddings[stage - 1],
                    norm=args.norm,
                    activation=args.activation,
                    use_bias=True,  # torchvision keeps conv biases in vgg*_bn
                    kernel_regularizer=args.kernel_regularizer,
                    name=f"stage{stage}_block{block}",
                )
            x = pool(x, "max", pool_size, name=f"stage{stage}_pool")
            x = keras.layers.Identity(name=f"stage{stage}_out")(x)
        return args.finish(inputs, x, fc_units)


@forwards_to(vgg, fixed={"config": "vgg11"})
def vgg11(**kwargs) -> keras.Model:
    """VGG-11, configuration A: 8 convolutions (1, 1, 2, 2, 2 per stage). See :func:`vgg`.

    Example:
        >>> vgg11(input_shape=(32, 32, 3), include_top=False, pooling="avg").output_shape
        (None, 512)
    """
    return vgg("vgg11", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg13"})
def vgg13(**kwargs) -> keras.Model:
    """VGG-13, configuration B: 10 convolutions (2 per stage). See :func:`vgg`.

    Example:
        >>> len([l for l in vgg13(input_shape=(32, 32, 3)).layers if l.name.endswith("_conv")])
        10
    """
    return vgg("vgg13", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg16"})
def vgg16(**kwargs) -> keras.Model:
    """VGG-16, configuration D: 13 convolutions (2, 2, 3, 3, 3). See :func:`vgg`.

    Example:
        >>> vgg16(num_classes=10, input_shape=(64, 64, 3), dropout=0.3).output_shape
        (None, 10)
    """
    return vgg("vgg16", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg19"})
def vgg19(**kwargs) -> keras.Model:
    """VGG-19, configuration E: 16 convolutions (2, 2, 4, 4, 4). See :func:`vgg`.

    Example:
        >>> vgg19(input_shape=(32, 32, 3), include_top=False).output_shape
        (None, 1, 1, 512)
    """
    return vgg("vgg19", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg11"}, defaults={"norm": "batch"})
def vgg11_bn(**kwargs) -> keras.Model:
    """VGG-11 (configuration A) with batch norm after every convolution, as
    torchvision's ``vgg11_bn``. See :func:`vgg`.

    Example:
        >>> vgg11_bn(input_shape=(32, 32, 3), num_classes=10).get_layer("stage1_block1_bn").name
        'stage1_block1_bn'
    """
    return vgg("vgg11", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg13"}, defaults={"norm": "batch"})
def vgg13_bn(**kwargs) -> keras.Model:
    """VGG-13 (configuration B) with batch norm after every convolution, as
    torchvision's ``vgg13_bn``. See :func:`vgg`.

    Example:
        >>> vgg13_bn(input_shape=(32, 32, 3), num_classes=10).get_layer("stage1_block1_bn").name
        'stage1_block1_bn'
    """
    return vgg("vgg13", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg16"}, defaults={"norm": "batch"})
def vgg16_bn(**kwargs) -> keras.Model:
    """VGG-16 (configuration D) with batch norm after every convolution, as
    torchvision's ``vgg16_bn``. See :func:`vgg`.

    Example:
        >>> vgg16_bn(input_shape=(32, 32, 3), num_classes=10).get_layer("stage1_block1_bn").name
        'stage1_block1_bn'
    """
    return vgg("vgg16", **kwargs)


@forwards_to(vgg, fixed={"config": "vgg19"}, defaults={"norm": "batch"})
def vgg19_bn(**kwargs) -> keras.Model:
    """VGG-19 (configuration E) with batch norm after every convolution, as
    torchvision's ``vgg19_bn``. See :func:`vgg`.

    Example:
        >>> vgg19_bn(input_shape=(32, 32, 3), num_classes=10).get_layer("stage1_block1_bn").name
        'stage1_block1_bn'
    """
    return vgg("vgg19", **kwargs)


# torchvision's num_params; with batch norm they count gamma and beta, not the moving
# statistics, so they compare with the Keras model's trainable count. keras.applications'
# count_params() of VGG16 and VGG19 is the same number.
_TORCHVISION = "torchvision num_params"
_BOTH = "keras.applications count_params() and torchvision num_params"
_PLAIN = "As in the paper; no LRN (configuration A-LRN is not provided)."
_BN = "Batch norm is not in the paper (torchvision's variant; convolutions keep biases)."


# torchvision's files and top-1 (IMAGENET1K_V1); keras.applications' MD5 and top-1.
_TORCHVISION_WEIGHTS = {
    "vgg11": ("vgg11-8a719046.pth", 69.020),
    "vgg13": ("vgg13-19584684.pth", 69.928),
    "vgg16": ("vgg16-397923af.pth", 71.592),
    "vgg19": ("vgg19-dcbb9e9d.pth", 72.376),
    "vgg11_bn": ("vgg11_bn-6002323d.pth", 70.370),
    "vgg13_bn": ("vgg13_bn-abd245e5.pth", 71.586),
    "vgg16_bn": ("vgg16_bn-6c64b313.pth", 73.360),
    "vgg19_bn": ("vgg19_bn-c79401a0.pth", 74.218),
}
_KERAS = {
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b", 71.3, "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318", 71.3, "253f8cb515780f3b799900260a226db6"),
}


def _pretrained(name: str) -> tuple[PretrainedWeights, ...]:
    """keras.applications' weights first where they exist (``weights="imagenet"`` loaded
    them before torchvision's were catalogued), then torchvision's."""
    keras_weights = (
        [
            keras_applications_weights(
                name,
                name,
                *_KERAS[name][:2],
                mode="caffe",
                licence="CC-BY-4.0",
                checksum_without_top=_KERAS[name][2],
            )
        ]
        if name in _KERAS
        else []
    )
    return (*keras_weights, torchvision_weights(name, *_TORCHVISION_WEIGHTS[name]))


def torchvision_modules(config: str, batch_norm: bool) -> dict[str, str]:
    """torchvision's module of every weighted layer of ``vgg(config)``: its ``features``
    number each convolution, batch norm, ReLU and max pooling in turn; its ``classifier``
    is FC, ReLU, dropout, FC, ReLU, dropout, FC.

    Example:
        >>> modules = torchvision_modules("vgg11", batch_norm=True)
        >>> modules["stage2_block1_conv"], modules["stage2_block1_bn"], modules["predictions"]
        ('features.4', 'features.5', 'classifier.6')
    """
    modules, index = {}, 0
    for stage, depth in enumerate(CONFIGS[config], start=1):
        for block in range(1, depth + 1):
            modules[f"stage{stage}_block{block}_conv"] = f"features.{index}"
            if batch_norm:
                modules[f"stage{stage}_block{block}_bn"] = f"features.{index + 1}"
            index += 3 if batch_norm else 2  # convolution, (batch norm,) ReLU
        index += 1  # max pooling
    return {**modules, "head_fc1": "classifier.0", "head_fc2": "classifier.3",
            "predictions": "classifier.6"}  # fmt: skip


def _named(function, params: int, letter: str, **info) -> NamedModel:
    bn = function.__name__.endswith("_bn")
    base = function.__name__.removesuffix("_bn")
    return NamedModel(
        function,
        reference_params=params,
        reference_source=info.pop("reference_source", _TORCHVISION),
        reference_counts="trainable" if bn else "all",
        notes=f"Configuration {letter} of Table 1. " + (_BN if bn else _PLAIN),
        depth=int(function.__name__[3:5]),
        search_depths={int(config[3:]): config for config in CONFIGS},
        torch_layout=TorchLayout(function.__name__, torchvision_modules(base, bn).get),
        pretrained=_pretrained(function.__name__),
        **info,
    )


def _keras_weights(application: str) -> KerasApplicationsWeights:
    head = ("fc1", "fc2", "predictions")
    return KerasApplicationsWeights(
        application, application.lower(), application.lower(), "caffe", head
    )


FAMILY = Family(
    name="vgg",
    builder=vgg,
    paper=PAPER,
    year=2014,
    default_input_shape=(224, 224, 3),
    min_input_size=32,
    models=(
        _named(vgg11, 132_863_336, "A"),
        _named(vgg13, 133_047_848, "B"),
        _named(
            vgg16, 138_357_544, "D", reference_source=_BOTH, keras_weights=_keras_weights("VGG16")
        ),
        _named(
            vgg19, 143_667_240, "E", reference_source=_BOTH, keras_weights=_keras_weights("VGG19")
        ),
        _named(vgg11_bn, 132_868_840, "A"),
        _named(vgg13_bn, 133_053_736, "B"),
        _named(vgg16_bn, 138_365_992, "D"),
        _named(vgg19_bn, 143_678_248, "E"),
    ),
    search_model="vgg16",
    search=SearchDefaults(
        knobs=("depth", "width", "kernel_size", "padding"), pooling="flatten", dropout=0.5
    ),
    scale_width=lambda defaults, factor: {
        "widths": scaled(WIDTHS, factor),
        "fc_units": scaled(FC_UNITS, factor),
    },
    test_kwargs={"fc_units": (32,)},
)
register_family(FAMILY)
