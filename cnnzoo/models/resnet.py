"""ResNet (He et al. 2015): ResNet-18 to -152, the pre-activation v2, and the CIFAR-10 nets."""

from __future__ import annotations

import keras

from cnnzoo.checks import (
    check_bool,
    check_choice,
    check_positive_int,
    check_rate,
    check_units,
)
from cnnzoo.layers import conv_norm_act, norm_act, pool
from cnnzoo.layers.residual import (
    SHORTCUTS,
    basic_block,
    bottleneck_block,
    preact_basic_block,
    preact_bottleneck_block,
)
from cnnzoo.models.common_args import (
    check_window,
    common_args,
    forwards_to,
    keyword_checked,
    naming_input_shape,
    per_stage_windows,
)
from cnnzoo.models.resnet_strides import DOWNSAMPLES, downsampling_hint, plan_strides

PAPER = "He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. arXiv:1512.03385, 2015"
PAPER_V2 = (
    "He, Zhang, Ren, Sun. Identity Mappings in Deep Residual Networks. arXiv:1603.05027, 2016"
)

# The paper's Table 1: block type and blocks per stage (conv2_x to conv5_x).
DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
WIDTHS = (64, 128, 256, 512)
CIFAR_WIDTHS = (16, 32, 64)  # section 4.2
# The paper's Table 6, in millions, to the precision shown there.
CIFAR_PAPER_MILLIONS = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}

# Where the variants differ. All three have the same weights shapes per block except the
# biases; the stride position changes the function (and the compute), not the count.
VARIANTS = {
    # keras.applications ResNet50/101/152: every convolution has a bias (redundant before
    # batch norm), and a bottleneck's first 1x1 convolution takes the stride, as in the paper.
    "v1": dict(preact=False, use_bias=True, stride_on="1x1"),
    # torchvision's "ResNet V1.5": no bias before batch norm, stride on the 3x3 convolution
    # (about 0.5% better top-1 on ImageNet, at 4.1 instead of 3.9 GMACs for ResNet-50).
    "v1.5": dict(preact=False, use_bias=None, stride_on="3x3"),
    # He et al. 2016 pre-activation, as keras.applications ResNet50V2/101V2/152V2.
    "v2": dict(preact=True, use_bias=None, stride_on="3x3"),
}
BLOCKS = {
    (False, "basic"): basic_block,
    (False, "bottleneck"): bottleneck_block,
    (True, "basic"): preact_basic_block,
    (True, "bottleneck"): preact_bottleneck_block,
}
STEMS = ("imagenet", "cifar")


def _stem(x, stem, width, strides, variant, args):
    """ImageNet: 7x7/2 convolution and 3x3/2 max pooling (/4); CIFAR: one 3x3 convolution
    (``strides``: the convolution's and the pooling's)."""
    spec = VARIANTS[variant]
    # A pre-activation network's first block normalizes its input itself.
    norm, activation = (None, None) if spec["preact"] else (args.norm, args.activation)
    if stem == "imagenet":
        kernel, padding = 7, 3  # symmetric 3-pixel padding, as both references
    else:
        kernel, padding = 3, "same"
    x = conv_norm_act(
        x, width, kernel, strides=strides, padding=padding, norm=norm, activation=activation,
        use_bias=spec["use_bias"], kernel_regularizer=args.kernel_regularizer,
        kernel_initializer="he_normal", name="stem",
    )  # fmt: skip
    if stem == "imagenet":
        x = pool(x, "max", 3, strides=strides, padding=1, name="stem_pool")
    return x


@keyword_checked
def resnet(
    depth: int | None = 50,
    *,
    variant: str = "v1.5",
    stem: str = "imagenet",
    num_classes: int = 1000,
    input_shape: tuple = (224, 224, 3),
    block: str | None = None,
    depths: tuple[int, ...] | None = None,
    widths: tuple[int, ...] = WIDTHS,
    strides=None,
    downsample: str = "first",
    width: float = 1.0,
    stem_width: int = 64,
    stem_strides=None,
    shortcut: str = "projection",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation="softmax",
    dropout: float = 0.0,
    name: str | None = None,
    activation="relu",
    norm: str | None = "batch",
    kernel_regularizer=None,
    noise: float | None = None,
    augmentation=None,
    weights=None,
) -> keras.Model:
    """A residual network from the paper's Table 1; ``resnet18`` ... ``resnet152v2`` and
    :func:`cifar_resnet` call this.

    The default ``variant="v1.5"`` is the one most users train today and compare against:
    torchvision's ResNet (timm's default too), whose trainable counts it matches; it is
    slightly more accurate than the paper's layout because the 3x3 convolution, not the
    first 1x1, downsamples. ``"v1"`` is keras.applications' ResNet50/101/152 (same
    ``count_params()``), ``"v2"`` the pre-activation network of He et al. 2016
    (keras.applications' ResNet50V2/101V2/152V2, same ``count_params()``).

    Layer names: ``stem_conv`` (``_pad``, ``_bn``, ``_act``), ``stem_pool``; then stage
    ``i`` (1 to 4: the paper's conv2_x to conv5_x, torchvision's layer1 to layer4), block
    ``j``: ``stage{i}_block{j}_1_conv`` ..., ``stage{i}_block{j}_out`` (see
    :mod:`cnnzoo.layers.residual`); ``post_bn``/``post_act`` (v2 only) and ``stage{i}_out``;
    then ``head_avg_pool`` and ``predictions``.

    Args:
        depth: 18, 34, 50, 101 or 152; ``None`` to give ``block`` and ``depths`` yourself.
        variant: ``"v1.5"``, ``"v1"`` or ``"v2"`` (see above).
        stem: ``"imagenet"`` (7x7/2 convolution, 3x3/2 max pooling) or ``"cifar"`` (one
            3x3/1 convolution, no pooling: for 32x32 inputs).
        num_classes: Number of outputs.
        input_shape: Channels-last shape; 1-D and 3-D shapes build 1-D and 3-D networks.
        block: ``"basic"`` or ``"bottleneck"``; overrides the depth's block type.
        depths: Blocks per stage; overrides the depth's.
        widths: Base width per stage (a bottleneck outputs 4 times it).
        strides: Stride of each stage's first block: one value or one per stage
            (default 1, then 2).
        downsample: ``"first"``: each stage's first block takes the stage's stride (the
            papers, torchvision, timm); ``"last"``: the last block of the stage before
            does, with a subsampled identity shortcut (keras.applications' ResNet*V2,
            whose weights need it; ``resnet50v2`` ... use it).
        width: Multiplier of ``widths`` (wide ResNets, Zagoruyko and Komodakis 2016).
            Below 1 with ``shortcut="zero_pad"``, the stem is thinned alike: a
            zero-padded shortcut can only add channels.
        stem_width: Filters of the stem convolution.
        stem_strides: Stride of the stem's convolution and max pooling: one value or one
            per spatial axis. With ``stem="imagenet"``, 2 on images and signals and
            ``(1, 2, 2)`` on volumes: the stem keeps the depth, as video ResNets
            (torchvision's ``r3d_18``) keep the frames, so a 16-frame clip fits and
            the stages halve it; 1 with ``"cifar"``.
        shortcut: ``"projection"`` (1x1 convolution where the shape changes, the paper's
            option B) or ``"zero_pad"`` (parameter-free identity with zero channels,
            option A).
        zero_init_residual: Start each block's last batch-norm scale at zero (v2: its last
            kernel), so every block starts as the identity (Goyal et al. 2017).
        drop_path_rate: Stochastic depth (Huang et al. 2016): the rate of the last block,
            linearly less for earlier blocks (``rate * k / blocks`` for block ``k``).
        include_top: Whether to add ``predictions``.
        pooling: ``None``, ``"avg"`` (the default with the top), ``"max"`` or ``"flatten"``.
        classifier_activation: Activation of ``predictions``.
        dropout: Dropout before ``predictions`` (none in the paper).
        name: Model name (default ``resnet{depth}``, ``resnet{depth}v2`` or
            ``resnet{depth}_v1``).
        activation: Activation of every layer.
        norm: ``"batch"`` or ``None``.
        kernel_regularizer: ``"l2"``, ``("l2", 1e-4)`` (the paper's weight decay), ...
        noise: Standard deviation of Gaussian input noise in training.
        augmentation: Keras preprocessing layers applied to the input in training.
        weights: Pretrained weights: a tag such as ``"resnet50.tv2_in1k"``
            (``cnnzoo.list_pretrained()``), downloaded into the Keras cache the first
            time; ``"imagenet"``, the first tag that fits the other arguments; or a file
            (``.pth``, ``.safetensors``, a keras.applications ``.h5``, ``.keras``,
            ``.weights.h5``) or a model (:func:`~cnnzoo.transfer.imagenet.load_pretrained`).

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: For a bad argument or an input too small for the downsampling.

    Example:
        >>> model = resnet(18, input_shape=(64, 64, 3), num_classes=10)
        >>> [model.get_layer(f"stage{i}_out").output.shape[1] for i in range(1, 5)]
        [16, 8, 4, 2]
    """
    check_choice("variant", variant, tuple(VARIANTS))
    check_choice("stem", stem, STEMS)
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_choice("downsample", downsample, DOWNSAMPLES)
    default_name, block, depths = _table_depth(depth, variant, block, depths)
    check_choice("block", block, ("basic", "bottleneck"))
    args = common_args(locals(), default_name=default_name, head_pooling="avg")
    depths = check_units("depths", depths)
    widths = check_units("widths", widths)
    if len(widths) != len(depths):
        raise ValueError(
            f"widths must give one width per stage ({len(depths)} stages); "
            f"received widths={widths!r}."
        )
    stages = len(depths)
    stage_strides = per_stage_windows(
        "strides",
        (1,) + (2,) * (stages - 1) if strides is None else strides,
        stages,
        args.spatial_rank,
    )
    if not isinstance(width, (int, float)) or isinstance(width, bool) or width <= 0:
        raise ValueError(f"width must be a positive number; received width={width!r}.")
    check_positive_int("stem_width", stem_width)
    if stem_strides is None:  # video ResNets (r3d_18) keep the frames in the stem
        stem_strides = 1 if stem != "imagenet" else (1, 2, 2) if args.spatial_rank == 3 else 2
    stem_strides = check_window("stem_strides", stem_strides, args.spatial_rank)
    if shortcut == "zero_pad" and width < 1:  # the identity cannot drop channels
        stem_width = max(1, round(stem_width * width))
    check_bool("zero_init_residual", zero_init_residual)
    drop_path_rate = check_rate("drop_path_rate", drop_path_rate)
    plan = plan_strides(depths, stage_strides, downsample)
    hint = downsampling_hint(stem, stem_strides, stage_strides)
    with naming_input_shape(args.input_shape, hint):
        inputs, x = args.model_input()
        x = _stem(x, stem, stem_width, stem_strides, variant, args)
        widths = [max(1, round(stage_width * width)) for stage_width in widths]
        layout = tuple(zip(depths, widths, plan, strict=True))
        x = _stages(x, args, variant, block, layout, shortcut, zero_init_residual, drop_path_rate)
        return args.finish(inputs, x, ())


def _table_depth(depth, variant, block, depths):
    """The default name, block and blocks per stage of a Table 1 ``depth``; with
    ``depth=None``, of ``block`` and ``depths``, which it then needs."""
    if depth is None:
        if block is None or depths is None:
            raise ValueError(
                "resnet(depth=None) needs both block and depths; received "
                f"block={block!r}, depths={depths!r}."
            )
        return "resnet", block, depths
    if depth not in tuple(DEPTHS):  # a tuple: an unhashable depth is refused, not a TypeError
        raise ValueError(
            f"depth must be one of {tuple(DEPTHS)} (the paper's Table 1), or None with "
            f"block and depths; received depth={depth!r}. For the CIFAR-10 networks "
            "(6n+2 layers: 20, 32, 44, 56, 110) use cifar_resnet(depth)."
        )
    return (
        f"resnet{depth}" + {"v1": "_v1", "v1.5": "", "v2": "v2"}[variant],
        DEPTHS[depth][0] if block is None else block,
        DEPTHS[depth][1] if depths is None else depths,
    )


def _stages(x, args, variant, block, layout, shortcut, zero_init_residual, drop_path_rate):
    """The residual stages; ``layout`` gives each stage's blocks, width and block strides."""
    spec = VARIANTS[variant]
    block_fn = BLOCKS[spec["preact"], block]
    block_options = dict(
        shortcut=shortcut,
        norm=args.norm,
        activation=args.activation,
        use_bias=spec["use_bias"],
        kernel_regularizer=args.kernel_regularizer,
        zero_init_residual=zero_init_residual,
    )
    if block == "bottleneck" and not spec["preact"]:
        block_options["stride_on"] = spec["stride_on"]
    total_blocks = sum(blocks for blocks, _, _ in layout)
    index = 0
    for stage, (blocks, stage_width, block_strides) in enumerate(layout, start=1):
        for j in range(1, blocks + 1):
            index += 1
            x = block_fn(
                x,
                stage_width,
                strides=block_strides[j - 1],
                drop_path_rate=drop_path_rate * index / total_blocks,
                name=f"stage{stage}_block{j}",
                # Striding a later block keeps the width: subsample the identity.
                **{**block_options, **({"shortcut": "zero_pad"} if j > 1 else {})},
            )
        if spec["preact"] and stage == len(layout):
            # Pre-activation leaves the last sum un-normalized; keras.applications' post_bn.
            x = norm_act(x, norm=args.norm, activation=args.activation, name="post")
        x = keras.layers.Identity(name=f"stage{stage}_out")(x)
    return x


# Section 4.2; cifar_resnet sets the blocks per stage, (n, n, n), from its depth.
CIFAR_DEFAULTS = dict(
    block="basic",
    widths=CIFAR_WIDTHS,
    stem="cifar",
    stem_width=16,
    shortcut="zero_pad",
    num_classes=10,
    input_shape=(32, 32, 3),
)


@forwards_to(resnet, defaults=CIFAR_DEFAULTS)
def cifar_resnet(depth: int = 20, **kwargs) -> keras.Model:
    """The CIFAR-10 networks of the paper's section 4.2: ``6n + 2`` layers.

    A 3x3 convolution with 16 filters, three stages of ``n`` basic blocks with 16, 32 and
    64 filters (strides 1, 2, 2; feature maps 32, 16, 8), global average pooling and a
    10-way classifier; shortcuts are parameter-free (option A). ResNet-20/32/44/56/110 have
    0.27M, 0.46M, 0.66M, 0.85M and 1.7M parameters (the paper's Table 6). Every argument of
    :func:`resnet` may override these settings (``variant="v2"`` gives the pre-activation
    CIFAR networks of He et al. 2016).

    Args:
        depth: Layers, ``6n + 2`` (20, 32, 44, 56, 110, 1202, ...).
        **kwargs: Arguments of :func:`resnet`.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: If ``depth`` is not of the form ``6n + 2``, or for a bad argument.

    Example:
        >>> model = cifar_resnet(20)
        >>> model.get_layer("stage3_out").output.shape
        (None, 8, 8, 64)
        >>> round(sum(w.numpy().size for w in model.trainable_weights) / 1e6, 2)
        0.27
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"depth must be 6n + 2 for a positive n (20, 32, 44, 56, 110, ...); "
            f"received depth={depth!r}."
        )
    n = (depth - 2) // 6
    if kwargs.get("name") is None:  # name=None: the default name
        kwargs["name"] = f"resnet{depth}"
    return resnet(None, **{"depths": (n, n, n), **kwargs})
