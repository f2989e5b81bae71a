"""``from_folder`` on a real image tree written from the bundled MNIST sample: PNG and JPEG
files, plus a truncated JPEG, a text file named ``.png``, an empty class folder, grayscale
and RGBA images among RGB ones, a README and a hidden folder."""

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from cnnzoo.data import FolderReport, from_folder, load_class_names, load_sample
from cnnzoo.data.folder import CLASS_MAP_FILE, REPORT_FILE
from cnnzoo.models import lenet5

CLASSES = {"zero": 0, "one": 1, "two": 2}  # folder -> MNIST digit
GOOD_PER_CLASS = 6  # 3 PNG at 28x28, 3 JPEG at 28x36
BAD = {
    "truncated": "zero/truncated.jpg",
    "text": "one/notes.png",
    "gray": "two/gray.png",
    "rgba": "zero/alpha.png",
}


def _digits(digit: int, count: int) -> list[np.ndarray]:
    sample = load_sample("mnist").train
    images = (sample.images[sample.labels == digit][:count, ..., 0] * 255).round()
    return list(images.astype("uint8"))


def _rgb(gray: np.ndarray, width: int | None = None) -> Image.Image:
    image = Image.fromarray(np.stack([gray, 255 - gray, gray // 2], axis=-1), "RGB")
    return image.resize((width, gray.shape[0])) if width else image


def _write_tree(root: Path) -> dict:
    """Writes the tree and returns the pixel arrays of the odd images, by relative path."""
    written = {}
    for name, digit in CLASSES.items():
        (root / name).mkdir(parents=True)
        for i, gray in enumerate(_digits(digit, GOOD_PER_CLASS + 2)[:GOOD_PER_CLASS]):
            if i < 3:
                _rgb(gray).save(root / name / f"{i}.png")
            else:
                _rgb(gray, width=36).save(root / name / f"{i}.jpg", quality=95)
    gray = _digits(2, GOOD_PER_CLASS + 1)[-1]
    Image.fromarray(gray, "L").save(root / BAD["gray"])
    written[BAD["gray"]] = gray
    rgba = np.dstack([np.asarray(_rgb(gray)), np.full(gray.shape, 128, "uint8")])
    Image.fromarray(rgba, "RGBA").save(root / BAD["rgba"])
    written[BAD["rgba"]] = rgba
    jpeg = (root / "zero" / "3.jpg").read_bytes()
    (root / BAD["truncated"]).write_bytes(jpeg[: len(jpeg) // 2])
    (root / BAD["text"]).write_text("not an image, whatever the extension says\n")
    (root / "one" / "README.txt").write_text("notes about class one\n")
    (root / "three").mkdir()  # an empty class
    (root / ".ipynb_checkpoints").mkdir()
    _rgb(gray).save(root / ".ipynb_checkpoints" / "0.png")
    return written


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return root, _write_tree(root)


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    for name, digit in CLASSES.items():
        (root / name).mkdir()
        for i, gray in enumerate(_digits(digit, 3)):
            _rgb(gray, width=20 + 8 * i).save(root / name / f"{i}.png")
    return root


def _read(root, **kwargs):
    kwargs = {"image_size": (32, 32), "channels": 3, "verbose": False, **kwargs}
    return from_folder(root, **kwargs)


def _by_path(dataset) -> dict[str, np.ndarray]:
    images = [image for image, _ in dataset.as_numpy_iterator()]
    return dict(zip(dataset.file_paths, images, strict=True))


def test_report_names_every_problem_by_path(tree, tmp_path, capsys):
    root, _ = tree
    data = _read(root, validation_split=0.25, seed=0, report_dir=tmp_path, verbose=True)
    report = data.report
    assert isinstance(report, FolderReport)
    assert [path for path, _ in report.unreadable] == [BAD["truncated"]]
    assert "JPEG" in report.unreadable[0][1]  # the decoder's own message
    assert report.not_images == (BAD["text"],)
    assert report.empty_classes == ("three/",)
    assert set(report.converted) == {(BAD["gray"], 1), (BAD["rgba"], 4)}
    assert set(report.ignored) == {"one/README.txt", ".ipynb_checkpoints/"}
    assert report.counts == {"one": 6, "three": 0, "two": 7, "zero": 7}
    assert not report.clean

    printed = capsys.readouterr().out
    for path in (*BAD.values(), "three/", "one/README.txt", ".ipynb_checkpoints/"):
        assert path in printed
    saved = json.loads((tmp_path / REPORT_FILE).read_text())
    assert saved["not_images"] == [BAD["text"]]
    assert saved["unreadable"][0][0] == BAD["truncated"]

    # The skipped files are in neither split; the converted ones are.
    used = [Path(p).relative_to(root).as_posix() for p in data.train.file_paths]
    used += [Path(p).relative_to(root).as_posix() for p in data.validation.file_paths]
    assert len(used) == len(set(used)) == report.num_images == 20
    assert BAD["truncated"] not in used and BAD["text"] not in used
    assert BAD["gray"] in used and BAD["rgba"] in used


def test_training_runs_on_the_usable_images(tree):
    root, _ = tree
    data = _read(root, validation_split=0.25, seed=0, batch_size=8)
    model = lenet5(variant="modern", input_shape=(32, 32, 3), num_classes=len(data.class_names))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data.train, validation_data=data.validation, epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])
    assert math.isfinite(history.history["val_loss"][0])
    images, labels = next(iter(data.train))
    assert images.shape == (8, 32, 32, 3) and images.dtype == tf.float32
    assert labels.dtype == tf.int32
    assert float(tf.reduce_min(images)) >= 0 and float(tf.reduce_max(images)) <= 255


def test_strict_raises_with_the_report(tree, clean_tree, tmp_path):
    root, _ = tree
    with pytest.raises(ValueError, match="strict=True") as error:
        _read(root, strict=True, report_dir=tmp_path)
    for path in (*BAD.values(), "three/"):
        assert path in str(error.value)
    assert json.loads((tmp_path / REPORT_FILE).read_text())["not_images"] == [BAD["text"]]
    assert _read(clean_tree, strict=True).report.clean  # a clean tree passes


def test_class_map_is_saved_and_maps_predictions_back(tree, tmp_path):
    root, _ = tree
    data = _read(root, validation_split=0.25, seed=0, report_dir=tmp_path / "run")
    # Sorted folder names, the empty class included (it keeps its output unit).
    assert data.class_indices == {"one": 0, "three": 1, "two": 2, "zero": 3}
    assert data.class_names == ("one", "three", "two", "zero")
    saved = json.loads((tmp_path / "run" / CLASS_MAP_FILE).read_text())
    assert saved == data.class_indices
    names = load_class_names(tmp_path / "run")
    assert names == data.class_names
    # Each label, mapped back through the saved map, names the file's folder.
    labels = np.concatenate([y for _, y in data.validation.as_numpy_iterator()])
    folders = [Path(path).parent.name for path in data.validation.file_paths]
    assert [names[label] for label in labels] == folders


def test_validation_split_needs_a_seed(tree):
    with pytest.raises(ValueError, match="seed"):
        _read(tree[0], validation_split=0.25)


def test_validation_split_is_seeded_stratified_and_disjoint(tree):
    root, _ = tree

    def split(seed):
        data = _read(root, validation_split=0.5, seed=seed)
        return data.train.file_paths, data.validation.file_paths

    train, validation = split(0)
    assert split(0) == (train, validation)
    assert split(1)[1] != validation
    assert not set(train) & set(validation)
    # Half of every non-empty class (6 or 7 files) is held out.
    held_out = {name: sum(Path(p).parent.name == name for p in validation) for name in CLASSES}
    assert held_out == {"zero": round(7 / 2), "one": 3, "two": round(7 / 2)}
    training_only = _read(root, validation_split=0.5, seed=0, subset="training")
    assert training_only.validation is None and training_only.train.file_paths == train


@pytest.fixture(scope="module")
def wide_tree(tmp_path_factory):
    """One 16x32 image: black outer quarters, a white middle half."""
    root = tmp_path_factory.mktemp("wide")
    (root / "wide").mkdir()
    image = np.zeros((16, 32, 3), "uint8")
    image[:, 8:24] = 255
    Image.fromarray(image).save(root / "wide" / "0.png")
    return root


@pytest.mark.parametrize(("size", "policy"), [((16, 16), "stretch"), ((8, 12), "crop")])
def test_resize_policies_give_the_requested_size(tree, size, policy):
    images, _ = next(iter(_read(tree[0], image_size=size, resize=policy, batch_size=4).train))
    assert images.shape == (4, *size, 3)


def test_resize_policies_differ_as_documented(wide_tree):
    def image(policy):
        data = _read(wide_tree, image_size=(16, 16), resize=policy, batch_size=None)
        return next(iter(data.train))[0].numpy().mean(axis=-1)

    stretch, crop, pad = image("stretch"), image("crop"), image("pad")
    assert stretch.shape == crop.shape == pad.shape == (16, 16)
    # stretch keeps everything: black sides, white middle, all rows alike.
    assert stretch[:, 0].max() < 5 and stretch[:, 8].min() > 250
    # crop keeps the central 16x16 box: all white.
    assert crop.min() > 250
    # pad adds black bands above and below, then shrinks: black sides and black top.
    assert pad[0].max() < 5 and pad[8, 0] < 5 and pad[8, 8] > 250


@pytest.mark.parametrize("policy", ["stretch", "crop", "pad"])
def test_images_match_keras_image_dataset_from_directory(clean_tree, policy):
    options = {"image_size": (24, 24), "batch_size": None, "shuffle": False}
    ours = _read(clean_tree, resize=policy, **options).train
    theirs = keras.utils.image_dataset_from_directory(
        clean_tree,
        crop_to_aspect_ratio=policy == "crop",
        pad_to_aspect_ratio=policy == "pad",
        verbose=False,
        **options,
    )
    assert ours.file_paths == theirs.file_paths
    for (a, label_a), (b, label_b) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
        assert int(label_a) == int(label_b)


def test_grayscale_and_rgba_are_converted_to_the_requested_channels(tree):
    root, written = tree
    images = _by_path(_read(root, image_size=None, batch_size=None, shuffle=False).train)
    gray = images[str(root / BAD["gray"])]
    assert gray.shape == (28, 28, 3)
    for channel in range(3):  # grayscale repeated, values untouched (PNG is lossless)
        np.testing.assert_array_equal(gray[..., channel], written[BAD["gray"]])
    rgba = images[str(root / BAD["rgba"])]
    np.testing.assert_array_equal(rgba, written[BAD["rgba"]][..., :3])  # alpha dropped

    as_gray = _read(root, image_size=None, channels=1, batch_size=None, shuffle=False)
    assert {path for path, _ in as_gray.report.converted} >= {"zero/0.png", BAD["rgba"]}
    one = _by_path(as_gray.train)[str(root / "zero" / "0.png")]
    rgb = np.asarray(Image.open(root / "zero" / "0.png"), "float32")
    np.testing.assert_allclose(one[..., 0], rgb @ [0.299, 0.587, 0.114], atol=1e-3)


def test_channels_default_to_the_most_common_count(tree):
    report = _read(tree[0], channels=None).report
    assert report.channels == 3


def test_incompatible_channels_are_skipped_and_reported(tree):
    report = _read(tree[0], channels=4).report  # only the RGBA image has 4 channels
    assert report.num_images == 1
    assert (BAD["gray"], 1) in report.incompatible and ("zero/0.png", 3) in report.incompatible


def test_mixed_sizes_need_an_image_size_to_batch(tree):
    with pytest.raises(ValueError, match="image_size"):
        _read(tree[0], image_size=None)
    assert _read(tree[0], image_size=None, batch_size=None).train.element_spec[0].shape == (
        None,
        None,
        3,
    )


def test_unlabelled_folder_reads_every_image_for_prediction(tree, tmp_path):
    root, _ = tree
    data = _read(root, labels=None, shuffle=False, report_dir=tmp_path)
    assert data.class_names == () and data.validation is None
    assert isinstance(data.train.element_spec, tf.TensorSpec)  # images only
    assert sum(len(batch) for batch in data.train) == 20
    assert not (tmp_path / CLASS_MAP_FILE).exists() and (tmp_path / REPORT_FILE).exists()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"resize": "squash"}, "resize"),
        ({"channels": 5}, "channels"),
        ({"image_size": (0, 32)}, "image_size"),
        ({"validation_split": 1.5, "seed": 0}, "validation_split"),
        ({"subset": "training"}, "subset"),
        ({"subset": "train", "validation_split": 0.2, "seed": 0}, "subset"),
        ({"batch_size": 0}, "batch_size"),
        ({"label_mode": "sparse"}, "label_mode"),
        ({"class_names": ["zero", "four"]}, "class_names"),
    ],
)
def test_bad_arguments_name_themselves(tree, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        _read(tree[0], **kwargs)


def test_label_modes(tree):
    data = _read(tree[0], label_mode="categorical", class_names=["zero", "one"])
    _, labels = next(iter(data.train))
    assert labels.shape[1:] == (2,) and data.class_names == ("zero", "one")
    assert float(tf.reduce_sum(labels)) == labels.shape[0]
    data = _read(tree[0], label_mode="binary", class_names=["zero", "one"])
    assert next(iter(data.train))[1].shape[1:] == (1,)


def test_the_notice_for_a_run_names_the_first_skipped_files_and_why(tree, clean_tree):
    report = _read(tree[0]).report
    lines = report.notice(limit=1).splitlines()
    assert lines[0] == "Skipped 2 of 22 image files:"  # 20 usable, the text file, the cut JPEG
    assert lines[1] == f"  {BAD['text']}: not an image"
    assert lines[2:] == [
        "  ... and 1 more",
        "Empty class folders (kept in the class map): three/",
        "Converted 2 images to 3 channels.",
    ]
    assert f"  {BAD['truncated']}: does not decode (" in report.notice()  # with the reason
    assert _read(clean_tree, image_size=(32, 32)).report.notice() == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"label_mode": "binary"},  # 4 classes
        {"validation_split": 0.01, "seed": 0},  # no validation image
        {"image_size": None},  # mixed sizes, batched
    ],
)
def test_refused_arguments_write_no_report(tree, tmp_path, kwargs):
    with pytest.raises(ValueError):
        _read(tree[0], report_dir=tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()
