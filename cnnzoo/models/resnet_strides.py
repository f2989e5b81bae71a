"""Where a ResNet downsamples: the stride of every block, and the total for an error message.

:func:`~cnnzoo.models.resnet.resnet` validates its arguments and walks this plan; the
block types and variants (``VARIANTS``: which convolution of a bottleneck takes the
stride) are in :mod:`cnnzoo.models.resnet`.
"""

from __future__ import annotations

import math

# Where a stage downsamples: its first block (the papers, torchvision, timm) or, shifted
# by one, the last block of the stage before (keras.applications' ResNet*V2, TF-slim).
DOWNSAMPLES = ("first", "last")


def plan_strides(depths, strides=None, downsample: str = "first") -> tuple[tuple, ...]:
    """The stride of every block, stage by stage: where a ResNet downsamples.

    ``strides`` are the stages' strides (default 1, then 2). ``downsample="first"``
    gives each to the stage's first block (the papers, torchvision, timm); ``"last"``
    moves it to the last block of the stage before (keras.applications' ResNet*V2). Inside
    a bottleneck the stride sits on the first 1x1 convolution in ``variant="v1"`` and on
    the 3x3 in ``"v1.5"`` and ``"v2"`` (``VARIANTS[variant]["stride_on"]``).

    Example:
        ResNet-50's layouts: keras.applications' ResNet50 (v1), torchvision's (v1.5)
        and keras.applications' ResNet50V2 (v2):

        >>> from cnnzoo.models.resnet import VARIANTS
        >>> for variant, downsample in (("v1", "first"), ("v1.5", "first"), ("v2", "last")):
        ...     plan = plan_strides((3, 4, 6, 3), downsample=downsample)
        ...     print(f"{variant:4} on {VARIANTS[variant]['stride_on']}:", plan)
        v1   on 1x1: ((1, 1, 1), (2, 1, 1, 1), (2, 1, 1, 1, 1, 1), (2, 1, 1))
        v1.5 on 3x3: ((1, 1, 1), (2, 1, 1, 1), (2, 1, 1, 1, 1, 1), (2, 1, 1))
        v2   on 3x3: ((1, 1, 2), (1, 1, 1, 2), (1, 1, 1, 1, 1, 2), (1, 1, 1))
    """
    stage_strides = (1,) + (2,) * (len(depths) - 1) if strides is None else tuple(strides)
    if downsample == "first":
        return tuple(
            (stride,) + (1,) * (blocks - 1)
            for stride, blocks in zip(stage_strides, depths, strict=True)
        )
    plan = []
    for stage, blocks in enumerate(depths):
        here = [stage_strides[0] if stage == 0 else 1] + [1] * (blocks - 1)
        following = stage_strides[stage + 1] if stage + 1 < len(depths) else 1
        if not _is_one(following):
            if blocks == 1 and not _is_one(here[0]):
                raise ValueError(
                    "downsample='last' cannot stride a one-block first stage twice; received "
                    f"strides={stage_strides}."
                )
            here[-1] = following
        plan.append(tuple(here))
    return tuple(plan)


def _is_one(stride) -> bool:
    return all(value == 1 for value in (stride if isinstance(stride, tuple) else (stride,)))


def downsampling_hint(stem: str, stem_strides: tuple, stage_strides) -> str:
    """How much ``stem`` and the stages downsample, and what to change for a small input:
    :func:`~cnnzoo.models.resnet.resnet` adds it to the error for an input too small."""
    stem_factor = max(stem_strides) ** (2 if stem == "imagenet" else 1)
    total = stem_factor * math.prod(s if isinstance(s, int) else max(s) for s in stage_strides)
    hint = f" stem={stem!r} with stage strides {tuple(stage_strides)} downsamples by {total}."
    if stem == "imagenet":
        hint += " For small images such as 32x32, use stem='cifar'."
        if len(stem_strides) == 3 and stem_strides[0] > 1:
            hint += " For short clips, stem_strides=(1, 2, 2) keeps the depth in the stem."
    return hint
