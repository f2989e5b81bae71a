"""AlexNet (Krizhevsky, Sutskever, Hinton, 2012): the two-tower original and torchvision's
single-tower form."""

from __future__ import annotations

import keras

from cnnzoo.checks import (
    check_bool,
    check_choice,
    check_positive_int,
    check_units,
    per_stage,
)
from cnnzoo.family import Family, NamedModel, SearchDefaults, TorchLayout, scaled
from cnnzoo.layers import (
    LocalResponseNormalization,
    conv_norm_act,
    pool,
)
from cnnzoo.models.common_args import (
    check_padding,
    check_window,
    common_args,
    forwards_to,
    keyword_checked,
    naming_input_shape,
)
from cnnzoo.pretrained.tags import torchvision_weights
from cnnzoo.registry import register_family

PAPER = (
    "Krizhevsky, Sutskever, Hinton. ImageNet Classification with Deep Convolutional Neural "
    "Networks. NeurIPS 2012"
)

# One row per convolution: (stage, filters, kernel, strides, padding, groups).
# Every stage ends with overlapping 3x3/2 max pooling.
FC_UNITS = (4096, 4096)
VARIANTS = {
    # Paper, section 3.5 and Figure 2: layers 2, 4 and 5 read only the maps of their own
    # GPU, which is a two-group convolution; LRN follows layers 1 and 2 (section 3.3).
    "original": dict(
        layers=(
            (1, 96, 11, 4, "valid", 1),
            (2, 256, 5, 1, "same", 2),
            (3, 384, 3, 1, "same", 1),
            (3, 384, 3, 1, "same", 2),
            (3, 256, 3, 1, "same", 2),
        ),
        lrn=True,
    ),
    # torchvision's alexnet (Krizhevsky 2014, "One weird trick"): one tower, no LRN,
    # 64/192/384/256/256 maps, 2-pixel padding on the 11x11 stem.
    "single_tower": dict(
        layers=(
            (1, 64, 11, 4, 2, 1),
            (2, 192, 5, 1, "same", 1),
            (3, 384, 3, 1, "same", 1),
            (3, 256, 3, 1, "same", 1),
            (3, 256, 3, 1, "same", 1),
        ),
        lrn=False,
    ),
}
LRN_STAGES = (1, 2)


@keyword_checked
def alexnet(
    *,
    variant: str = "original",
    num_classes: int = 1000,
    input_shape: tuple | None = None,
    widths: tuple[int, ...] | None = None,
    groups=None,
    kernel_size=None,
    strides=None,
    padding=None,
    lrn: bool | None = None,
    stem_kernel_size=None,
    stem_strides=None,
    stem_padding=None,
    pool_size=3,
    pool_strides=2,
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
    """AlexNet: five convolutions, overlapping max pooling, FC 4096-4096 with dropout 0.5.

    ``variant="original"`` is the paper's network at 227x227 (the size its arithmetic
    needs): 96 11x11/4, LRN, pool, 256 5x5 in two groups, LRN, pool, 384 3x3, 384 3x3 in
    two groups, 256 3x3 in two groups, pool. ``variant="single_tower"`` is torchvision's
    (224x224, 61,100,840 parameters): no groups and no LRN.

    Small inputs work through the stem and head options: for 32x32 CIFAR images, for
    example, ``stem_kernel_size=3, stem_strides=1, stem_padding="same"``, and
    ``pooling="avg"`` to pool globally before the fully connected layers.

    Layer names: ``stage1_block1`` (conv1), ``stage2_block1`` (conv2), ``stage3_block1`` to
    ``stage3_block3`` (conv3-5), each ``_conv``/``_act``; ``stage{i}_lrn``,
    ``stage{i}_pool``, ``stage{i}_out``; head ``head_fc1``, ``head_fc2``, ``predictions``.

    Args:
        variant: ``"original"`` or ``"single_tower"``.
        num_classes: Number of outputs.
        input_shape: Defaults to 227x227x3 (original) or 224x224x3 (single tower).
        widths: Maps of the five convolutions.
        groups: Groups of each convolution: one int or five.
        kernel_size: Kernels of the five convolutions: one value or five (default: the
            variant's 11, 5, 3, 3, 3).
        strides: Strides of the five convolutions: one value or five (4, 1, 1, 1, 1).
        padding: Padding of the five convolutions: one value or five.
        lrn: Local response normalization after the first two convolutions.
        stem_kernel_size: Kernel of the first convolution; overrides ``kernel_size`` there.
        stem_strides: Stride of the first convolution; overrides ``strides`` there.
        stem_padding: Padding of the first convolution; overrides ``padding`` there.
        pool_size: Max-pooling window (3: the paper's overlapping pooling).
        pool_strides: Max-pooling stride (2); ``None``: the window (no overlap).
        fc_units: Hidden fully connected layers.
        include_top: Whether to add the fully connected layers.
        pooling: ``None``, ``"flatten"`` (the default with the top), ``"avg"`` or ``"max"``.
        classifier_activation: Activation of ``predictions``.
        dropout: Dropout after each hidden fully connected layer (0.5 in the paper).
        name: Model name (default ``"alexnet"``; ``alexnet_single_tower()`` names its model
            ``"alexnet_single_tower"``).
        activation: Activation of every layer.
        norm: ``"batch"`` adds batch norm after each convolution.
        kernel_regularizer: ``"l2"``, ``("l2", 5e-4)`` (the paper's weight decay), ...
        noise: Standard deviation of Gaussian input noise in training.
        augmentation: Keras preprocessing layers applied to the input in training.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: For a bad argument or an input too small for the chosen stem.

    Example:
        >>> model = alexnet(input_shape=(32, 32, 3), num_classes=10, stem_kernel_size=3,
        ...                 stem_strides=1, stem_padding="same", fc_units=(256, 256))
        >>> model.get_layer("stage3_out").output.shape
        (None, 3, 3, 256)
    """
    check_choice("variant", variant, tuple(VARIANTS))
    spec = VARIANTS[variant]
    if input_shape is None:
        input_shape = (227, 227, 3) if variant == "original" else (224, 224, 3)
    args = common_args(locals(), default_name="alexnet")
    rows = spec["layers"]
    widths = check_units("widths", widths if widths is not None else [row[1] for row in rows])
    if len(widths) != len(rows):
        raise ValueError(f"widths must give the 5 convolutions' maps; received widths={widths!r}.")

    kernels, layer_strides, paddings, layer_groups = _conv_settings(
        rows,
        args.spatial_rank,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        stem_kernel_size=stem_kernel_size,
        stem_strides=stem_strides,
        stem_padding=stem_padding,
    )
    check_window("pool_size", pool_size, args.spatial_rank)
    if pool_strides is not None:
        check_window("pool_strides", pool_strides, args.spatial_rank)
    lrn = check_bool("lrn", spec["lrn"] if lrn is None else lrn)
    fc_units = check_units("fc_units", fc_units)

    small_input_hint = (
        " For small images such as 32x32, use stem_kernel_size=3, stem_strides=1, "
        "stem_padding='same' (and pooling='avg' to pool before the head)."
    )
    convs = tuple(zip(widths, kernels, layer_strides, paddings, layer_groups, strict=True))
    with naming_input_shape(args.input_shape, small_input_hint):
        return _build(args, rows, convs, lrn, pool_size, pool_strides, fc_units)


def _conv_settings(
    rows,
    rank,
    *,
    kernel_size,
    strides,
    padding,
    groups,
    stem_kernel_size,
    stem_strides,
    stem_padding,
):
    """Kernels, strides, paddings and groups of the five convolutions, each the variant's
    (a column of ``rows``) or the user's, with the stem's overrides on the first."""

    def window(argument, value):
        return check_window(argument, value, rank)

    def zero_padding(argument, value):
        return check_padding(argument, value, rank)

    def per_layer(argument, value, column, check, stem_argument=None, stem_value=None):
        if value is None:
            values = tuple(row[column] for row in rows)
        else:
            values = per_stage(argument, value, len(rows), check)
        if stem_value is not None:
            check(stem_argument, stem_value)
            values = (stem_value, *values[1:])
        return values

    return (
        per_layer("kernel_size", kernel_size, 2, window, "stem_kernel_size", stem_kernel_size),
        per_layer("strides", strides, 3, window, "stem_strides", stem_strides),
        per_layer("padding", padding, 4, zero_padding, "stem_padding", stem_padding),
        per_layer("groups", groups, 5, check_positive_int),
    )


def _build(args, rows, convs, lrn, pool_size, pool_strides, fc_units) -> keras.Model:
    inputs, x = args.model_input()
    block = 0
    for index, (width, kernel, conv_strides, conv_padding, conv_groups) in enumerate(convs):
        stage = rows[index][0]
        block = 1 if index == 0 or stage != rows[index - 1][0] else block + 1
        x = conv_norm_act(
            x,
            width,
            kernel,
            strides=conv_strides,
            padding=conv_padding,
            groups=conv_groups,
            norm=args.norm,
            activation=args.activation,
            kernel_regularizer=args.kernel_regularizer,
            name=f"stage{stage}_block{block}",
        )
        stage_ends = index == len(rows) - 1 or rows[index + 1][0] != stage
        if stage_ends:
            if lrn and stage in LRN_STAGES:
                x = LocalResponseNormalization(name=f"stage{stage}_lrn")(x)
            x = pool(x, "max", pool_size, strides=pool_strides, name=f"stage{stage}_pool")
            x = keras.layers.Identity(name=f"stage{stage}_out")(x)
    return args.finish(inputs, x, fc_units)


@forwards_to(alexnet, defaults={"variant": "single_tower", "name": "alexnet_single_tower"})
def alexnet_single_tower(**kwargs) -> keras.Model:
    """AlexNet as one tower (Krizhevsky 2014, torchvision's ``alexnet``): no LRN, no
    groups, 64/192/384/256/256 maps, 224x224 input. See :func:`alexnet`.

    torchvision pools the last feature map adaptively to 6x6 before its classifier; the
    map is 6x6 already for inputs of 223 to 254 per axis, where this model computes what
    torchvision's does with the same weights (:func:`cnnzoo.transfer.port_state_dict`).
    Elsewhere ``head_fc1`` reads another number of inputs and torchvision's weights do not
    fit it; the backbone (``include_top=False``) computes torchvision's ``features`` at
    any size.

    Example:
        >>> alexnet_single_tower(input_shape=(63, 63, 3), fc_units=(16,)).output_shape
        (None, 1000)
    """
    return alexnet(**kwargs)


# torchvision's modules: features numbers the convolutions, ReLUs and poolings in turn; its
# classifier is dropout, FC, ReLU, dropout, FC, ReLU, FC.
TORCHVISION_MODULES = {
    "stage1_block1_conv": "features.0",
    "stage2_block1_conv": "features.3",
    "stage3_block1_conv": "features.6",
    "stage3_block2_conv": "features.8",
    "stage3_block3_conv": "features.10",
    "head_fc1": "classifier.1",
    "head_fc2": "classifier.4",
    "predictions": "classifier.6",
}


def _scale_width(defaults, factor: float) -> dict:
    layers = VARIANTS[defaults.get("variant", "original")]["layers"]
    return {
        # multiples of 2: the two-group layers split their maps between the groups
        "widths": scaled([row[1] for row in layers], factor, multiple=2),
        "fc_units": scaled(FC_UNITS, factor),
    }


FAMILY = Family(
    name="alexnet",
    builder=alexnet,
    paper=PAPER,
    year=2012,
    default_input_shape=(227, 227, 3),
    min_input_size=67,
    models=(
        NamedModel(
            alexnet,
            reference_params=60_965_224,
            reference_source="the paper's layer sizes at 227x227 with two-group layers 2, 4, 5 "
            "(computed)",
            notes=(
                "Two-group convolutions stand for the paper's two GPUs (same weights and outputs "
                "on one device). 227x227 input, as the layer sizes require (the paper's text says "
                "224). 'same' padding for layers 2-5 equals the paper's 2- and 1-pixel padding."
            ),
        ),
        NamedModel(
            alexnet_single_tower,
            reference_params=61_100_840,
            reference_source="torchvision alexnet num_params",
            reference_counts="trainable",
            paper=PAPER
            + "; Krizhevsky, One weird trick for parallelizing CNNs, arXiv:1404.5997, 2014",
            year=2014,
            default_input_shape=(224, 224, 3),
            min_input_size=63,
            torch_layout=TorchLayout("alexnet", TORCHVISION_MODULES.get),
            notes=(
                "torchvision-compatible single tower: no LRN, no groups, 64/192/384/256/256 maps. "
                "torchvision's adaptive 6x6 average pool is the identity on the 6x6 map of "
                "inputs of 223 to 254 (224 included) and is left out; use pooling='avg' for "
                "other input sizes."
            ),
            pretrained=(
                torchvision_weights("alexnet_single_tower", "alexnet-owt-7be5be79.pth", 56.522),
            ),
        ),
    ),
    search_model="alexnet_single_tower",
    search=SearchDefaults(knobs=("width",), pooling="flatten", dropout=0.5),
    scale_width=_scale_width,
    test_kwargs={"fc_units": (32,)},
)
register_family(FAMILY)
