"""2-D weights in 1-D and 3-D networks (issue 20, section 4): every kernel is inflated
(cnnzoo.transfer.inflate_kernel) wherever a 2-D source meets a 1-D or 3-D model: state
dicts, saved models, keras.applications files, and load_pretrained (what weights= does).

The defining property, tested with real resnet18s and random weights and batch-norm
statistics: a volume repeating one image along depth gives the 2-D network's features on
that image at every depth position, and a 1-D signal gives the 2-D network's features on
the image whose every column is that signal. Both are exact (to float32 rounding) away
from the borders of the new axis and approximate near them, where zero padding shows the
3-D network zeros along depth, and the 2-D network zeros beyond the left and right edges
of a finite image, that the other network does not see.
"""

import keras
import numpy as np
import pytest
from conftest import random_images, randomize_keras_weights
from safetensors.numpy import save_file

from cnnzoo import resnet18, vgg11
from cnnzoo.transfer import (
    WeightsMismatchError,
    export_state_dict,
    inflate_kernel,
    load_weights,
    port_state_dict,
)
from cnnzoo.transfer.imagenet import load_pretrained

# Relative to the largest feature: float32 rounding through 18 layers (measured: 6e-7).
EXACT = 1e-5
# What the zero padding along the new axis changes at its first position (measured: 0.5).
BORDER = 0.05
# Narrow resnet18s (16 to 128 channels; the full layout of 20 convolutions) keep a
# 512-long axis, more than the 435-pixel receptive field of resnet18's last stage, fast.
NARROW = dict(width=0.25, stem_width=16, include_top=False)
LONG = 512
# Of the last stage's 16 positions (stride 32) along that axis, 7 and 8 read no padding:
# their receptive field, 217 pixels either side of about 32 * p + 16, lies inside 0..511.
INSIDE = slice(7, 9)


@pytest.fixture(scope="module")
def narrow_2d():
    """A 2-D resnet18 on 32x32 images whose features are average-pooled."""
    keras.utils.set_random_seed(0)
    model = resnet18(input_shape=(32, 32, 3), pooling="avg", **NARROW)
    randomize_keras_weights(model)
    return model


def _relative(difference, reference) -> float:
    return float(np.max(np.abs(difference)) / np.max(np.abs(reference)))


def test_3d_resnet18_gives_the_2d_features_of_a_repeated_image_away_from_depth_borders(
    narrow_2d,
):
    """Ported from a torchvision-layout state dict, with a stem that strides depth as it
    strides rows (stem_strides=2). At 32x32 the last stage's map is 1x1, so the 3-D
    network's map at each depth position is the 2-D pooled feature. The middle positions'
    receptive field along depth (435 slices for resnet18) lies inside the 512 slices: exact
    (measured 6e-7 of the largest feature). The first one reads the zero padding along
    depth: approximate (measured 0.49)."""
    model = resnet18(input_shape=(LONG, 32, 32, 3), stem_strides=2, **NARROW)
    report = port_state_dict(model, export_state_dict(narrow_2d))
    images = random_images((32, 32, 3), low=-1)
    volume = np.repeat(images[:, None], LONG, axis=1)  # (2, 512, 32, 32, 3)
    expected = narrow_2d.predict(images, verbose=0)  # (2, 128)
    features = model.predict(volume, verbose=0)  # (2, 16, 1, 1, 128)
    assert features.shape == (2, LONG // 32, 1, 1, 128)
    per_depth = features.mean(axis=(2, 3))  # (2, 16, 128)
    middle = per_depth[:, INSIDE] - expected[:, None]
    assert _relative(middle, expected) < EXACT
    assert _relative(per_depth[:, 0] - expected, expected) > BORDER
    assert len(report.adapted) == 20 and not report.skipped


def test_1d_resnet18_gives_the_2d_features_of_an_image_constant_along_width(narrow_2d, tmp_path):
    """Loaded from a saved .weights.h5 (shapes only, no source layers). The 2-D network
    sees a 32x512 image whose every column is the signal: its middle columns, whose
    receptive field lies inside the image, give the 1-D network's features exactly; the
    first column reads the zero padding beyond the left edge, which the 1-D network never
    sees: approximate (measured 0.53 of the largest feature; 5e-7 in the middle). Along the
    signal both pad alike."""
    path = tmp_path / "resnet18.weights.h5"
    narrow_2d.save_weights(path)
    model = resnet18(input_shape=(32, 3), pooling="avg", **NARROW)
    report = load_weights(model, path)
    wide = resnet18(input_shape=(32, LONG, 3), **NARROW)  # the 2-D network, unpooled
    wide.set_weights(narrow_2d.get_weights())
    signals = random_images((32, 3), low=-1)
    columns = wide.predict(np.repeat(signals[:, :, None], LONG, axis=2), verbose=0)
    expected = columns.mean(axis=1)  # pooled along the signal: (2, 16, 128)
    features = model.predict(signals, verbose=0)  # (2, 128)
    assert _relative(expected[:, INSIDE] - features[:, None], features) < EXACT
    assert _relative(expected[:, 0] - features, features) > BORDER
    assert report.adapted[0] == ("stem_conv", "kernel collapsed from 7x7 to 7 (summed over width)")


def test_a_depth_of_one_is_exact_everywhere():
    """A target kernel of depth 1 (its kernel shape decides the depth): no layer mixes depth
    positions, so no zero padding along depth is read and every position is exact."""
    keras.utils.set_random_seed(0)
    flat = keras.Input((16, 16, 3))
    flat_model = keras.Model(
        flat, keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv")(flat)
    )
    volume = keras.Input((5, 16, 16, 3))
    conv = keras.layers.Conv3D(8, (1, 3, 3), strides=(1, 2, 2), padding="same", name="conv")
    model = keras.Model(volume, conv(volume))
    report = load_weights(model, flat_model)
    assert report.adapted == (
        ("conv", "kernel inflated from 3x3 to 1x3x3 (repeated along depth / 1)"),
    )
    images = random_images((16, 16, 3))
    repeated = model.predict(np.repeat(images[:, None], 5, axis=1), verbose=0)
    expected = flat_model.predict(images, verbose=0)
    assert _relative(repeated - expected[:, None], expected) < EXACT


def test_load_pretrained_inflates_a_safetensors_state_dict(tmp_path):
    """The path a pretrained tag takes (read, then port_state_dict), with the real layout:
    a full resnet18 with its 1000-class classifier, into a gray 3-D resnet18."""
    source = resnet18(input_shape=(32, 32, 3))
    path = tmp_path / "resnet18.safetensors"
    save_file(export_state_dict(source), str(path))
    model = resnet18(input_shape=(32, 32, 32, 1))
    report = load_pretrained(model, path)
    assert len(report.loaded) == 41 and not report.skipped
    adapted = dict(report.adapted)
    assert adapted["stem_conv"] == (
        "kernel inflated from 7x7 to 7x7x7 (repeated along depth / 7); kernel summed over 3 "
        "input channels to 1"
    )
    assert adapted["stage1_block1_1_conv"] == (
        "kernel inflated from 3x3 to 3x3x3 (repeated along depth / 3)"
    )
    assert adapted["stage2_block1_shortcut_conv"].startswith("kernel inflated from 1x1 to 1x1x1")
    assert len(adapted) == 20 and "stage2_block1_shortcut_conv" in str(report)
    kernel = source.get_layer("stage3_block2_1_conv").get_weights()[0]
    np.testing.assert_array_equal(
        model.get_layer("stage3_block2_1_conv").get_weights()[0], inflate_kernel(kernel, 3)
    )
    for name in ("predictions", "stage4_block2_2_bn"):  # unchanged past the convolutions
        for ours, theirs in zip(
            model.get_layer(name).get_weights(), source.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_3d_kernel_height_and_width_must_be_the_sources():
    """Depth settings are free, the rest are the source's: a 3x3x3 stem does not take a
    7x7 kernel (compared from the source model's settings, before any shape)."""
    source = resnet18(input_shape=(32, 32, 3), **NARROW)
    model = resnet18(input_shape=(32, 32, 32, 3), stem="cifar", **NARROW)
    with pytest.raises(
        WeightsMismatchError,
        match=r"'stem_conv': kernel_size \(7, 7\) in the source, \(3, 3, 3\) here",
    ):
        load_weights(model, source)


@pytest.fixture(scope="module")
def vgg_state():
    return export_state_dict(vgg11(input_shape=(32, 32, 3)))


def test_flatten_classifier_with_the_sources_classes_is_refused(vgg_state):
    """A 1-D VGG of length 64 flattens a 2x512 map where the 2-D one flattened 1x1x512:
    head_fc1's weights have no 1-D counterpart, and a classifier on a fresh head_fc1 would
    only pretend to be pretrained. Nothing is set."""
    model = vgg11(input_shape=(64, 3))
    before = model.get_layer("stage1_block1_conv").get_weights()[0]
    with pytest.raises(WeightsMismatchError) as error:
        port_state_dict(model, vgg_state, skip_head_mismatch=True)
    message = str(error.value)
    assert "'head_fc1'" in message and "Flatten of a 1-D map (2x512)" in message
    assert "include_top=False" in message and "another num_classes" in message
    np.testing.assert_array_equal(model.get_layer("stage1_block1_conv").get_weights()[0], before)


def test_flatten_classifier_of_a_new_head_is_skipped_and_one_position_loads(vgg_state):
    """With another class count the classifier is new anyway: head_fc1 is skipped and
    reported, the backbone inflated. A map of one position (1x1x1x512) means the same
    flattened in 2-D and 3-D, so a 32-deep VGG loads its whole classifier."""
    model = vgg11(input_shape=(64, 32, 32, 3), num_classes=10)
    report = port_state_dict(model, vgg_state, skip_head_mismatch=True)
    skipped = dict(report.skipped)
    assert set(skipped) == {"head_fc1", "predictions"}
    assert "Flatten of a 3-D map (2x1x1x512)" in skipped["head_fc1"]
    assert "does not inflate" in skipped["head_fc1"]
    assert len(report.adapted) == 8
    deep = port_state_dict(vgg11(input_shape=(32, 32, 32, 3)), vgg_state)
    assert not deep.skipped and {"head_fc1", "predictions"} <= set(deep.loaded)


def test_inflate_kernel_refuses_what_it_cannot_inflate():
    kernel = np.ones((3, 3, 2, 4), "float32")
    with pytest.raises(ValueError, match=r"received a kernel of shape \(3, 3, 3, 2, 4\)"):
        inflate_kernel(np.ones((3, 3, 3, 2, 4)), 3)
    with pytest.raises(ValueError, match="received rank=4"):
        inflate_kernel(kernel, 4)
    with pytest.raises(ValueError, match="received depth=3 for rank 1"):
        inflate_kernel(kernel, 1, depth=3)
    assert inflate_kernel(kernel, 2) is kernel
    assert inflate_kernel(kernel, 3, depth=5).sum(axis=0).tolist() == kernel.tolist()


def test_a_16_frame_clip_keeps_its_depth_in_the_stem_and_loads(tmp_path):
    """Video ResNets (torchvision's r3d_18) do not stride time in the stem, and neither does
    a 3-D resnet by default: a 16-frame clip fits resnet18, and the weights= path loads. A
    stem that strides depth too is refused with the hint."""
    path = tmp_path / "resnet18.safetensors"
    save_file(export_state_dict(resnet18(input_shape=(32, 32, 3))), str(path))
    with pytest.raises(ValueError, match=r"stem_strides=\(1, 2, 2\) keeps the depth"):
        resnet18(input_shape=(16, 64, 64, 3), stem_strides=2)
    clip = resnet18(input_shape=(16, 64, 64, 3), weights=str(path))
    assert clip.get_layer("stage4_out").output.shape[1:4] == (2, 2, 2)
    assert clip.get_layer("stem_conv").strides == (1, 2, 2)
    features = keras.Model(clip.input, clip.get_layer("head_avg_pool").output)
    assert np.isfinite(features(random_images((16, 64, 64, 3)))).all()
