"""Named augmentation recipes, so that each technique of the course notes is one word."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import keras

from cnnzoo.augment.pca_color import PCAColorAugmentation
from cnnzoo.augment.resized_crop import RandomResizedCrop

# AlexNet trains on 224x224 crops of 256x256 images: 87.5% of each side.
ALEXNET_CROP_SIDE = 224 / 256


def _standard(s, next_seed, value_range):
    # A random crop of the image padded by 1/8 of its side (4 pixels at 32x32), written as
    # a translation with zero fill so that the size never changes.
    return [
        keras.layers.RandomFlip("horizontal", seed=next_seed()),
        keras.layers.RandomTranslation(
            0.125 * s, 0.125 * s, fill_mode="constant", interpolation="nearest", seed=next_seed()
        ),
        keras.layers.RandomRotation(0.03 * s, fill_mode="constant", seed=next_seed()),  # +-11 deg
        keras.layers.RandomZoom(0.1 * s, fill_mode="constant", seed=next_seed()),
    ]


def _alexnet(s, next_seed, value_range):
    return [
        RandomResizedCrop(
            scale=(ALEXNET_CROP_SIDE**2, 1.0), ratio=(1.0, 1.0), center_crop=1.0, seed=next_seed()
        ),
        keras.layers.RandomFlip("horizontal", seed=next_seed()),
        PCAColorAugmentation(alpha_std=0.1 * s, value_range=value_range, seed=next_seed()),
    ]


def _inception(s, next_seed, value_range):
    return [
        RandomResizedCrop(scale=(min(1.0, 0.08 / s), 1.0), seed=next_seed()),
        keras.layers.RandomFlip("horizontal", seed=next_seed()),
        keras.layers.RandomColorJitter(
            value_range=value_range,
            brightness_factor=0.4 * s,
            contrast_factor=0.4 * s,
            # Keras' saturation factor is 0.5 for no change, 0 grey, 1 fully saturated.
            saturation_factor=(max(0.0, 0.5 - 0.2 * s), min(1.0, 0.5 + 0.2 * s)),
            hue_factor=min(1.0, 0.1 * s),
            seed=next_seed(),
        ),
    ]


def _strong(s, next_seed, value_range):
    return [
        *_standard(s, next_seed, value_range),
        # (0, f) rather than f: RandomShear flips the sign itself, and Keras 3.15 cannot
        # reload the (-f, f) it stores for a single number.
        keras.layers.RandomShear(
            (0.0, 0.1 * s), (0.0, 0.1 * s), fill_mode="constant", seed=next_seed()
        ),
        keras.layers.RandomBrightness(0.2 * s, value_range=value_range, seed=next_seed()),
        keras.layers.RandomContrast(0.2 * s, value_range=value_range, seed=next_seed()),
    ]


# name -> (what it contains, builder(strength, next_seed, value_range), needs RGB); each
# layer of a preset takes the next seed, so that their random draws are independent.
PRESETS: dict[str, tuple[str, Callable, bool]] = {
    "none": ("no augmentation", lambda s, next_seed, value_range: [], False),
    "mirror": (
        "horizontal flip",
        lambda s, next_seed, value_range: [keras.layers.RandomFlip("horizontal", seed=next_seed())],
        False,
    ),
    "standard": (
        "horizontal flip, random crop of the image padded by 1/8 (a translation with zero "
        "fill), rotation up to 11 degrees, zoom up to 10%",
        _standard,
        False,
    ),
    "alexnet": (
        "AlexNet's: random crops of 87.5% of each side resized back, horizontal flip, PCA "
        "colour noise (alpha_std 0.1)",
        _alexnet,
        True,
    ),
    "inception": (
        "Inception's: random resized crop (8-100% of the area, aspect 3/4-4/3), horizontal "
        "flip, colour jitter (brightness and contrast 0.4, saturation +-40%, hue 0.1)",
        _inception,
        True,
    ),
    "strong": (
        "standard, plus shear up to 0.1, brightness and contrast up to 20%",
        _strong,
        False,
    ),
}


def describe_presets() -> dict[str, str]:
    """What each preset contains, by name.

    Example:
        >>> describe_presets()["mirror"]
        'horizontal flip'
    """
    return {name: description for name, (description, _, _) in PRESETS.items()}


def make_augmentation(
    augment,
    *,
    strength: float = 1.0,
    seed: int | None = None,
    channels: int | None = None,
    spatial_rank: int | None = None,
    value_range: Sequence[float] = (0, 255),
    argument: str = "augment",
) -> keras.layers.Layer | None:
    """One augmentation layer (active in training only) from a preset name or Keras layers.

    Presets, each scaled by ``strength`` (0.5 halves every magnitude, 2 doubles it):
    ``"none"``, ``"mirror"``, ``"standard"``, ``"alexnet"``, ``"inception"`` and
    ``"strong"``; :func:`describe_presets` says what each contains. ``"alexnet"`` and
    ``"inception"`` change colours and need RGB images. Every preset is made of Keras'
    image layers, which take 2-D images only: for 1-D signals and 3-D volumes pass your
    own layers.

    Args:
        augment: ``None``, a preset name, a Keras layer, or a list of Keras layers.
        strength: Multiplier of every preset magnitude (> 0).
        seed: Seed of the preset's first random layer (the next ones take seed + 1, ...).
        channels: Channels of the images, to reject a colour preset on grayscale early.
        spatial_rank: Spatial axes of the inputs (1, 2 or 3), to reject a preset on
            1-D or 3-D inputs early.
        value_range: ``(low, high)`` of the pixel values, for the colour layers.
        argument: The caller's name for ``augment``, used in error messages.

    Returns:
        A ``keras.Sequential`` named ``"augmentation"`` (or the given layer), or ``None``
        for no augmentation.

    Raises:
        ValueError: For an unknown preset (the message lists the known ones), a colour
            preset on non-RGB images, a preset on 1-D or 3-D inputs, a bad ``strength`` or
            an item that is not a layer.

    Example:
        >>> layer = make_augmentation("standard", seed=0)
        >>> [type(item).__name__ for item in layer.layers]
        ['RandomFlip', 'RandomTranslation', 'RandomRotation', 'RandomZoom']
        >>> make_augmentation("none") is None
        True
    """
    if augment is None:
        return None
    if isinstance(augment, keras.layers.Layer):
        return augment
    if isinstance(augment, str):
        if augment not in PRESETS:
            known = ", ".join(f"{name!r}" for name in PRESETS)
            raise ValueError(
                f"{argument} must be a preset name ({known}), a Keras layer or a list of "
                f"layers; received {argument}={augment!r}."
            )
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or strength <= 0:
            raise ValueError(f"strength must be a number > 0; received strength={strength!r}.")
        _, build, needs_rgb = PRESETS[augment]
        if needs_rgb and channels is not None and channels != 3:
            raise ValueError(
                f"{argument}={augment!r}: the {augment!r} preset changes colours and needs RGB "
                f"images (3 channels); the images have {channels}. Use 'standard' or 'strong' "
                "for grayscale."
            )
        seeds = itertools.count(seed) if seed is not None else itertools.repeat(None)
        layers = build(float(strength), lambda: next(seeds), tuple(value_range))
        if layers and spatial_rank is not None and spatial_rank != 2:
            # Keras' image layers take (height, width, channels) images; a 1-D batch would
            # pass as one unbatched image and a 3-D one fails at the first call.
            inputs = "1-D signals" if spatial_rank == 1 else f"{spatial_rank}-D volumes"
            raise ValueError(
                f"{argument}={augment!r} is made of Keras' 2-D image layers "
                f"({', '.join(type(layer).__name__ for layer in layers)}), which cannot "
                f"augment {inputs}; pass Keras layers that do, or augment in the data "
                "pipeline."
            )
        return keras.Sequential(layers, name="augmentation") if layers else None
    if isinstance(augment, Sequence):
        for index, item in enumerate(augment):
            if not isinstance(item, keras.layers.Layer):
                raise ValueError(
                    f"{argument}[{index}] must be a Keras layer (for example "
                    f"keras.layers.RandomFlip('horizontal')); received {item!r}."
                )
        return keras.Sequential(list(augment), name="augmentation") if augment else None
    raise ValueError(
        f"{argument} must be None, a preset name, a Keras layer or a list of Keras layers; "
        f"received {argument}={augment!r}."
    )
