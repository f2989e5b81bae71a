"""cnnzoo.explain: heat maps that explain, not decorate.

Two pieces of evidence (issue 21). (1) A LeNet-5 trained on noise images whose class is
the quadrant of a small bright patch must put the maxima of its Grad-CAM and occlusion
maps on the patch. (2) The sanity check of Adebayo et al. (2018): the maps of a network
with fresh random weights must differ from the trained network's, much more than the
trained network's maps change under a tiny input perturbation. The rates and
correlations are printed (``pytest -s``) and quoted in docs/guides/seeing-inside.md.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import keras
import numpy as np
import pytest
from conftest import quiet_env, run_command, small_kwargs
from scipy.stats import spearmanr

from cnnzoo import create_model, list_models, model_info
from cnnzoo.explain import default_layer, gradcam, occlusion, saliency
from cnnzoo.explain.maps import resize_linear

SIZE, PATCH = 32, 4  # 32x32 noise, a 4x4 patch
# A maximum "on the patch": within this many pixels of it. LeNet-5's default Grad-CAM
# layer (stage2_out) is 5x5, one cell per 6.4 pixels.
TOLERANCE = 4


def planted_patches(count: int, seed: int):
    """Gray noise images, each with a bright 4x4 patch somewhere in one quadrant: the
    quadrant (0 top left, 1 top right, 2 bottom left, 3 bottom right) is the class."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(0.4, 0.15, (count, SIZE, SIZE, 1)), 0, 1).astype("float32")
    labels = rng.integers(0, 4, count)
    corners = np.stack([
        rng.integers(0, SIZE // 2 - PATCH + 1, count) + SIZE // 2 * (labels >= 2),
        rng.integers(0, SIZE // 2 - PATCH + 1, count) + SIZE // 2 * (labels % 2),
    ], axis=1)  # fmt: skip
    for image, (top, left) in zip(images, corners, strict=True):
        image[top : top + PATCH, left : left + PATCH] = 1.0
    return images, labels, corners


def hit_rate(maps: np.ndarray, corners: np.ndarray) -> float:
    """The share of maps whose maximum lies within TOLERANCE pixels of the patch."""
    rows, columns = np.unravel_index(maps.reshape(len(maps), -1).argmax(axis=1), maps.shape[1:])
    distance = np.maximum(
        np.maximum(0, np.maximum(corners[:, 0] - rows, rows - corners[:, 0] - PATCH + 1)),
        np.maximum(0, np.maximum(corners[:, 1] - columns, columns - corners[:, 1] - PATCH + 1)),
    )
    return float(np.mean(distance <= TOLERANCE))


def rank_correlations(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of each pair of maps (0 where a map is constant)."""
    values = [spearmanr(a.ravel(), b.ravel())[0] for a, b in zip(first, second, strict=True)]
    return np.nan_to_num(np.asarray(values, dtype="float64"))


def lenet(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return create_model("lenet5_modern", input_shape=(SIZE, SIZE, 1), num_classes=4)


@pytest.fixture(scope="session")
def planted():
    """A LeNet-5 trained to 100% test accuracy on the planted patches (about 3 s)."""
    images, labels, _ = planted_patches(1500, seed=0)
    model = lenet(seed=0)
    model.compile(
        keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(images, labels, epochs=6, batch_size=32, verbose=0)
    test_images, test_labels, corners = planted_patches(64, seed=1)
    accuracy = model.evaluate(test_images, test_labels, verbose=0)[1]
    return model, test_images, test_labels, corners, accuracy


# ----- (1) the planted patch ---------------------------------------------------------------


def test_the_maxima_fall_on_the_planted_patch(planted):
    model, images, labels, corners, accuracy = planted
    assert accuracy >= 0.95, accuracy
    rates = {
        "gradcam": hit_rate(gradcam(model, images), corners),
        "gradcam_stage1": hit_rate(gradcam(model, images, layer="stage1_out"), corners),
        "occlusion": hit_rate(occlusion(model, images, patch=4, stride=2), corners),
        "saliency": hit_rate(saliency(model, images), corners),
        # The same method on an untrained network, and a map that guesses: the rates
        # above are the training's doing.
        "gradcam_untrained": hit_rate(gradcam(lenet(seed=7), images), corners),
        "chance": hit_rate(
            np.random.default_rng(0).uniform(size=(64 * len(images), SIZE, SIZE)),
            np.tile(corners, (64, 1)),
        ),
    }
    print(f"\nplanted patch: accuracy {accuracy:.3f}, hit rates {json.dumps(rates)}")
    assert rates["gradcam"] >= 0.7 and rates["occlusion"] >= 0.9, rates
    assert rates["gradcam_untrained"] < 0.5 and rates["chance"] < 0.25, rates
    # Explaining another class than the predicted one points elsewhere.
    other = gradcam(model, images, class_index=(labels + 1) % 4)
    assert hit_rate(other, corners) < 0.5


# ----- (2) the sanity check of Adebayo et al. -----------------------------------------------


def test_fresh_weights_change_the_maps(planted):
    model, images, _, _, _ = planted
    fresh = lenet(seed=7)  # the same architecture, its initial random weights
    nudged = images + np.random.default_rng(5).normal(0, 0.01, images.shape).astype("float32")
    report = {}
    for name, method in (("gradcam", gradcam), ("saliency", saliency)):
        maps = method(model, images)
        itself = rank_correlations(maps, method(model, nudged)).mean()
        randomized = rank_correlations(maps, method(fresh, images)).mean()
        report[name] = {"trained vs nudged input": itself, "trained vs fresh weights": randomized}
        assert itself > 0.9 and randomized < 0.5 and itself - randomized > 0.5, report
    print(f"\nrank correlations: {json.dumps(report)}")


# ----- what the maps are -------------------------------------------------------------------


def test_maps_have_the_input_size_and_unit_range(planted):
    model, images, _, _, _ = planted
    for maps in (gradcam(model, images[:3]), saliency(model, images[:3], smooth=3),
                 occlusion(model, images[:3])):  # fmt: skip
        assert maps.shape == (3, SIZE, SIZE) and maps.dtype == np.float32
        assert maps.min() >= 0 and np.allclose(maps.reshape(3, -1).max(axis=1), 1)


def test_smoothgrad_is_seeded_and_differs_from_the_plain_gradient(planted):
    model, images, _, _, _ = planted
    smooth = saliency(model, images[:4], smooth=4, seed=1)
    np.testing.assert_array_equal(smooth, saliency(model, images[:4], smooth=4, seed=1))
    assert not np.allclose(smooth, saliency(model, images[:4]))


def test_reloaded_nested_and_augmented_models_give_the_same_maps(planted, tmp_path):
    model, images, _, _, _ = planted
    expected = gradcam(model, images[:4])
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(gradcam(reloaded, images[:4]), expected, atol=1e-5)
    # The trained LeNet nested in a model with augmentation and noise layers: they are
    # idle in inference mode, and the default layer is found inside the nested model.
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.GaussianNoise(0.5)(x)
    outer = keras.Model(inputs, model(x))
    assert default_layer(outer) == "stage2_out"
    np.testing.assert_allclose(gradcam(outer, images[:4]), expected, atol=1e-5)
    np.testing.assert_allclose(saliency(outer, images[:4]), saliency(model, images[:4]), atol=1e-5)
    # ...and the softmax of the reloaded model is back after the maps.
    assert reloaded.get_layer("predictions").activation is keras.activations.softmax


def test_auxiliary_heads_are_ignored():
    from cnnzoo import without_auxiliary_heads

    model = create_model("googlenet_bn", input_shape=(80, 80, 3), num_classes=3, aux_logits=True)
    images = np.random.default_rng(0).uniform(0, 1, (2, 80, 80, 3)).astype("float32")
    single = without_auxiliary_heads(model)
    np.testing.assert_allclose(gradcam(model, images), gradcam(single, images), atol=1e-5)
    np.testing.assert_allclose(saliency(model, images), saliency(single, images), atol=1e-5)


def test_a_layer_inside_a_residual_block():
    model = create_model("resnet20", input_shape=(16, 16, 3), num_classes=3)
    images = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    maps = gradcam(model, images, layer="stage2_block2_1_conv")  # a shortcut crosses it
    assert maps.shape == (2, 16, 16) and maps.max() == 1


def test_one_dimensional_signals():
    """A 1-D LeNet-5 told left bumps from right bumps looks at the bump."""
    rng = np.random.default_rng(0)

    def signals(count):
        x = rng.normal(0, 0.2, (count, 64, 1)).astype("float32")
        labels, starts = rng.integers(0, 2, count), rng.integers(0, 28, count)
        starts = starts + 32 * labels
        for row, start in zip(x, starts, strict=True):
            row[start : start + 4] += 2.0
        return x, labels, starts

    keras.utils.set_random_seed(0)
    model = create_model("lenet5_modern", input_shape=(64, 1), num_classes=2)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(*signals(400)[:2], epochs=4, batch_size=32, verbose=0)
    x, _, starts = signals(32)
    for maps in (gradcam(model, x), occlusion(model, x, patch=4, stride=2)):
        assert maps.shape == (32, 64)
        peaks = maps.argmax(axis=1)
        assert np.mean((peaks >= starts - TOLERANCE) & (peaks < starts + 4 + TOLERANCE)) > 0.7


def test_three_dimensional_volumes():
    model = create_model("lenet5_modern", input_shape=(32, 32, 32, 1), num_classes=2)
    volumes = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 32, 1)).astype("float32")
    assert gradcam(model, volumes).shape == (1, 32, 32, 32)
    assert saliency(model, volumes).shape == (1, 32, 32, 32)


FAMILY_MODELS = sorted({model_info(name).family: name for name in reversed(list_models())}.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_every_family(name):
    kwargs = small_kwargs(name, num_classes=3)
    model = create_model(name, **kwargs)
    images = np.random.default_rng(0).uniform(0, 1, (1, *kwargs["input_shape"]))
    maps = gradcam(model, images)
    assert maps.shape == (1, *kwargs["input_shape"][:-1]) and np.isfinite(maps).all()


def test_resize_is_linear_and_keeps_the_ends():
    maps = np.arange(6, dtype="float32").reshape(1, 2, 3)
    resized = resize_linear(maps, (4, 6))
    assert resized.shape == (1, 4, 6) and resized[0, 0, 0] == 0 and resized[0, -1, -1] == 5
    expected = keras.ops.image.resize(maps[..., None], (4, 6), interpolation="bilinear")
    np.testing.assert_allclose(resized, keras.ops.convert_to_numpy(expected)[..., 0], atol=1e-5)


# ----- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x: gradcam(m, x, layer="stage2_ot"),
         "received layer='stage2_ot'. Closest names: stage2_out"),
        (lambda m, x: gradcam(m, x, layer="predictions"), "whose output is one map"),
        (lambda m, x: gradcam(m, x, class_index=4), "class index in [0, 4)"),
        (lambda m, x: saliency(m, x, class_index=[0]), "one per image (2 images)"),
        (lambda m, x: saliency(m, x, smooth=-1), "smooth must be an int >= 0"),
        (lambda m, x: occlusion(m, x, patch=33), "at most the input's (32, 32)"),
        (lambda m, x: occlusion(m, x, stride=(1, 0)), "received stride=(1, 0)"),
        (lambda m, x: gradcam(m, x[0]), "(one image: images[None])"),
        (lambda m, x: gradcam("lenet", x), "model must be a keras.Model"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_by_name(planted, call, message):
    model, images, _, _, _ = planted
    with pytest.raises(ValueError) as error:
        call(model, images[:2])
    assert message in str(error.value)


# ----- other backends ----------------------------------------------------------------------

BACKEND_SCRIPT = """
import sys, numpy as np, keras
from cnnzoo.explain import gradcam, occlusion, saliency
model = keras.saving.load_model(sys.argv[1])
images = np.load(sys.argv[2])
np.save(sys.argv[3], np.stack([gradcam(model, images), saliency(model, images, smooth=2),
                               occlusion(model, images, patch=8, stride=8)]))
print(keras.backend.backend())
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_give_the_same_maps(planted, tmp_path, backend):
    """The trained model, reloaded on JAX or PyTorch, gives TensorFlow's maps: the same
    hit rates and correlations."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (make test-backends installs it)")
    model, images, _, corners, _ = planted
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "images.npy", images)
    result = run_command(
        [sys.executable, "-c", BACKEND_SCRIPT, tmp_path / "model.keras",
         tmp_path / "images.npy", tmp_path / "maps.npy"],
        env=quiet_env(KERAS_BACKEND=backend),
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == backend, result.stderr[-3000:]
    maps = np.load(tmp_path / "maps.npy")
    expected = [gradcam(model, images), saliency(model, images, smooth=2),
                occlusion(model, images, patch=8, stride=8)]  # fmt: skip
    # Occlusion divides probability drops near 1e-6 by their largest: float noise shows.
    for got, want, tolerance in zip(maps, expected, (2e-3, 2e-3, 2e-2), strict=True):
        np.testing.assert_allclose(got, want, atol=tolerance)
    print(f"\n{backend}: gradcam hit rate {hit_rate(maps[0], corners):.3f}")


# ----- cnnzoo explain ----------------------------------------------------------------------

QUADRANTS = ("top_left", "top_right", "bottom_left", "bottom_right")


@pytest.fixture(scope="session")
def planted_run(planted, tmp_path_factory):
    """A run folder as 'cnnzoo train' writes it, of the planted-patch LeNet-5 behind a
    0-255 rescaling (a nested model), and three test images as PNG files."""
    model, images, labels, _, _ = planted
    root = tmp_path_factory.mktemp("explain")
    inputs = keras.Input((SIZE, SIZE, 1))
    (root / "run").mkdir()
    keras.Model(inputs, model(keras.layers.Rescaling(1 / 255)(inputs))).save(
        root / "run" / "model.keras"
    )
    (root / "run" / "config.json").write_text(json.dumps({"model": "lenet5_modern"}))
    indices = {name: i for i, name in enumerate(QUADRANTS)}
    (root / "run" / "class_indices.json").write_text(json.dumps(indices))
    files = []
    for i in range(3):
        files.append(root / f"image{i}.png")
        keras.utils.save_img(files[-1], np.round(images[i] * 255).astype("uint8"), scale=False)
    return root, files, [QUADRANTS[label] for label in labels[:3]]


def test_explain_writes_a_picture_per_image(planted_run, capsys):
    from cnnzoo.cli import main

    root, files, truth = planted_run
    assert main(["explain", str(root / "run"), *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == truth  # the predicted quadrants
    for line, file in zip(lines, files, strict=True):
        picture = root / "run" / "explain" / f"{file.stem}-gradcam.png"
        assert line.endswith(f"-> {picture}") and picture.read_bytes()[:4] == b"\x89PNG"
    out = root / "pictures"
    assert main(["explain", str(root / "run"), str(files[0]), "--method", "occlusion",
                 "--out", str(out), "--class", QUADRANTS[0]]) == 0  # fmt: skip
    assert [path.name for path in out.iterdir()] == ["image0-occlusion.png"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [  # IMAGE: a test image
        (["IMAGE", "--class", "top_lft"], "--class must be one of the run's classes (top_left, "
         "top_right, bottom_left, bottom_right); received 'top_lft'; did you mean top_left?"),
        (["IMAGE", "--layer", "stage2_ot"], "--layer 'stage2_ot'. Closest names: stage2_out"),
        (["IMAGE", "--method", "saliency", "--layer", "c1"], "--method saliency takes none"),
        (["IMAGE", "missing.png"], "no image file 'missing.png'"),
    ],
)  # fmt: skip
def test_explain_refuses_in_one_line_and_writes_nothing(planted_run, capsys, flags, message):
    from cnnzoo.cli import main

    root, files, _ = planted_run
    out = root / "refused"
    with pytest.raises(SystemExit) as done:
        flags = [str(files[0]) if flag == "IMAGE" else flag for flag in flags]
        main(["explain", str(root / "run"), *flags, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and err.startswith("cnnzoo explain: error: ") and "\n" not in err
    assert message in err and not out.exists()
