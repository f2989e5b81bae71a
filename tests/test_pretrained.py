"""The catalogue of pretrained weights, and downloads from a real HTTP server on 127.0.0.1:
a good file, a corrupt one, a connection dropped mid-file, no server at all, a mirror."""

import dataclasses
import hashlib
import http.server
import io
import json
import re
import sys
import threading

import keras
import numpy as np
import pytest
import safetensors.numpy
from conftest import (
    eager_outputs,
    random_images,
    random_keras_application,
    randomize_keras_weights,
)

import cnnzoo
from cnnzoo.pretrained import (
    MIRROR_VARIABLE,
    WeightsDownloadError,
    catalog,
    fetch,
    imagenet_class_names,
    list_pretrained,
    model_weights,
    pretrained_weights,
)
from cnnzoo.pretrained.download import cached_file
from cnnzoo.pretrained.sources import builder_arguments
from cnnzoo.transfer import export_state_dict
from cnnzoo.transfer.imagenet import load_pretrained

# The tags issue 20 names, at least.
REQUIRED = [
    *(f"resnet{depth}.tv_in1k" for depth in (18, 34, 50, 101, 152)),
    "resnet50.tv2_in1k",
    "resnet50.a1_in1k",
    *(f"vgg{depth}{bn}.tv_in1k" for depth in (11, 13, 16, 19) for bn in ("", "_bn")),
    "alexnet_single_tower.tv_in1k",
    "googlenet_bn.tv_in1k",
    "inception_v3.tv_in1k",
    "vgg16.keras_in1k",
    "vgg19.keras_in1k",
    "resnet50.keras_in1k",
    "resnet50v2.keras_in1k",
    "inception_v3.keras_in1k",
]


def test_the_catalogue_has_every_source_and_what_each_entry_needs():
    names = list_pretrained()
    assert set(REQUIRED) <= set(names)
    assert len(names) == len(set(names))
    registered = set(cnnzoo.list_models())
    for name in names:
        entry = pretrained_weights(name)
        assert entry.name == name and entry.model in registered
        assert entry.url.startswith("https://")
        assert entry.url.endswith((entry.file_name, "/model.safetensors")), name
        assert re.fullmatch(r"[0-9a-f]{8}|[0-9a-f]{32}|", entry.checksum), name
        assert entry.licence and entry.source and entry.num_classes == 1000
        assert entry.top1 is None or 50 < entry.top1 < 90, name
        preprocessing = entry.preprocessing
        assert 0.8 < preprocessing.crop_fraction <= 1, name
        assert preprocessing.interpolation in ("bilinear", "bicubic")
        assert all(0 < std <= 0.5 for std in preprocessing.std)


def test_entries_follow_their_sources():
    tv = pretrained_weights("resnet18.tv_in1k")
    assert (tv.url, tv.checksum, tv.format, tv.top1) == (
        "https://download.pytorch.org/models/resnet18-f37072fd.pth", "f37072fd", "pth", 69.758
    )  # fmt: skip
    assert pretrained_weights("resnet50.tv2_in1k").preprocessing.resize_size == 232
    timm = pretrained_weights("resnet50.a1_in1k")
    assert timm.format == "safetensors" and timm.preprocessing.interpolation == "bicubic"
    assert timm.url == "https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors"
    keras = pretrained_weights("vgg16.keras_in1k")
    assert keras.file_name == "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert keras.preprocessing.channel_order == "BGR"  # keras.applications' "caffe"
    assert pretrained_weights("resnet50.keras_in1k").builder_args == (("variant", "v1"),)
    # Weights ported from TensorFlow expect [-1, 1] (torchvision's transform_input).
    assert pretrained_weights("googlenet_bn.tv_in1k").preprocessing.mean == (0.5, 0.5, 0.5)
    assert pretrained_weights("inception_v3.tv_in1k").preprocessing.input_size == 299


def test_a_models_default_weights_and_unknown_names():
    assert pretrained_weights("resnet50.imagenet").name == "resnet50.tv_in1k"
    assert pretrained_weights("vgg16.imagenet").name == "vgg16.keras_in1k"  # as before
    assert [entry.tag for entry in model_weights("resnet34")] == ["tv_in1k", "a1_in1k"]
    assert model_weights("lenet5") == []
    with pytest.raises(ValueError, match=r"'resnet18.tv_in1kk'.*Closest: resnet18.tv_in1k"):
        pretrained_weights("resnet18.tv_in1kk")


def test_the_imagenet_class_names_ship_with_the_package():
    names = imagenet_class_names()
    assert len(names) == len(set(names)) == 1000
    assert names[0] == "tench" and names[999] == "toilet tissue"


class Server(http.server.ThreadingHTTPServer):
    """Serves ``files`` under /good/, the first half of them under /drop/ (announcing the
    whole length, then closing), and counts requests."""

    def __init__(self, files):
        self.files, self.requests = files, []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        _, kind, name = self.path.split("/", 2)
        data = self.server.files.get(name)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data if kind == "good" else data[: len(data) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    data = np.random.default_rng(0).bytes(3_000_000)  # three 1 MB chunks
    entry = pretrained_weights("resnet18.tv_in1k")
    entry = dataclasses.replace(entry, checksum=hashlib.sha256(data).hexdigest()[:8])
    httpd = Server({entry.file_name: data, "corrupt-" + entry.file_name: data[::-1]})
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, entry, data
    httpd.shutdown()
    httpd.server_close()


def test_a_download_is_checked_cached_and_not_repeated(server, tmp_path, capsys):
    httpd, entry, data = server
    path = fetch(entry, cache_dir=tmp_path, mirror=httpd.url + "/good")
    assert path == tmp_path / entry.file_name and path.read_bytes() == data
    assert "Downloading resnet18-" in capsys.readouterr().err  # the progress
    assert fetch(entry, cache_dir=tmp_path, mirror=httpd.url + "/good") == path
    assert len(httpd.requests) == 1
    path.write_bytes(b"changed on disk")  # fails its checksum: downloaded again
    assert fetch(entry, cache_dir=tmp_path, mirror=httpd.url + "/good").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [entry.file_name]


def test_the_mirror_variable_points_downloads_at_a_server(server, tmp_path, monkeypatch):
    httpd, entry, data = server
    monkeypatch.setenv(MIRROR_VARIABLE, httpd.url + "/good/")
    assert fetch(entry, cache_dir=tmp_path, progress=False).read_bytes() == data
    assert httpd.requests == [f"/good/{entry.file_name}"]


def test_a_corrupt_file_is_never_cached(server, tmp_path):
    httpd, entry, _ = server
    corrupt = dataclasses.replace(entry, file_name="corrupt-" + entry.file_name)
    with pytest.raises(WeightsDownloadError, match=f"corrupt: .*{entry.checksum}"):
        fetch(corrupt, cache_dir=tmp_path, mirror=httpd.url + "/good", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_connection_dropped_mid_file_leaves_nothing(server, tmp_path):
    httpd, entry, _ = server
    with pytest.raises(WeightsDownloadError, match="Could not download the weights"):
        fetch(entry, cache_dir=tmp_path, mirror=httpd.url + "/drop", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_the_error_says_what_to_download_and_where_to_put_it(tmp_path):
    entry = pretrained_weights("vgg16.tv_in1k")
    with pytest.raises(WeightsDownloadError) as raised:
        fetch(entry, cache_dir=tmp_path, mirror="http://127.0.0.1:9", progress=False)
    message = str(raised.value)
    assert entry.url in message and entry.file_name in message and str(tmp_path) in message
    assert "cnnzoo weights download vgg16.tv_in1k" in message and MIRROR_VARIABLE in message
    assert not cached_file(entry, tmp_path).exists()


def test_the_command_lists_describes_and_downloads_ahead_of_time(
    server, tmp_path, capsys, monkeypatch
):
    from cnnzoo.cli import main

    httpd, entry, data = server
    assert main(["weights", "list", "vgg16*", "alexnet*"]) == 0
    listing = capsys.readouterr().out
    assert "vgg16.keras_in1k" in listing and "alexnet_single_tower.tv_in1k" in listing
    assert "resnet18" not in listing
    assert main(["weights", "info", "resnet50.keras_in1k"]) == 0
    info = capsys.readouterr().out
    assert "model: resnet50(variant='v1')" in info and "BGR" in info and "MIT" in info
    assert "without the top (include_top=False): https://" in info and "_notop.h5" in info
    cache = tmp_path / "cache"
    # The catalogue's checksum is the real file's: the random stand-in fails it, and
    # nothing (not even the folder) is left.
    mirror = ["--mirror", httpd.url + "/good", "--cache-dir", str(cache)]
    assert main(["weights", "download", "resnet18.tv_in1k", *mirror]) == 1
    assert "corrupt" in capsys.readouterr().err and not cache.exists()
    with pytest.raises(SystemExit) as raised:
        main(["weights", "download", "resnet18.tv_in1k", "resnet18.tv_in1kk", *mirror])
    assert raised.value.code == 2 and not cache.exists()  # every name checked first
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Closest: resnet18.tv_in1k" in error
    # With the stand-in's checksum in the catalogue, the download lands in the cache.
    entries = {**catalog._entries(), entry.name: entry}
    monkeypatch.setattr(catalog, "_entries", lambda: entries)
    assert main(["weights", "download", "resnet18.tv_in1k", *mirror]) == 0
    assert (cache / entry.file_name).read_bytes() == data
    assert f"resnet18.tv_in1k: {cache / entry.file_name}" in capsys.readouterr().out


def test_model_info_and_cnnzoo_info_name_the_weights(capsys):
    from cnnzoo.cli import main

    assert cnnzoo.model_info("resnet18").pretrained == ("resnet18.tv_in1k", "resnet18.a1_in1k")
    assert main(["info", "vgg16_bn"]) == 0
    assert "Pretrained weights: vgg16_bn.tv_in1k (weights='imagenet' is" in capsys.readouterr().out


def _relative_difference(actual, expected) -> float:
    """The largest difference on the scale of the expected values."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.fixture
def served(server, tmp_path, monkeypatch):
    """``serve(tag, data)``: the server holds ``data`` as the tag's file, the catalogue its
    checksum; downloads go to the server (the mirror variable) and into an empty cache."""
    httpd = server[0]
    monkeypatch.setenv(MIRROR_VARIABLE, httpd.url + "/good")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    entries = dict(catalog._entries())
    monkeypatch.setattr(catalog, "_entries", lambda: entries)

    def serve(tag: str, data: bytes, without_top: bytes | None = None):
        entry = dataclasses.replace(entries[tag], checksum=hashlib.sha256(data).hexdigest())
        if without_top is not None:  # keras.applications' _notop.h5 beside it
            checksum = hashlib.sha256(without_top).hexdigest()
            entry = dataclasses.replace(entry, checksum_without_top=checksum)
            httpd.files[entry.without_top().file_name] = without_top
        entries[tag] = entry
        httpd.files[entry.file_name] = data
        return entry

    return serve, httpd


def test_a_tag_downloads_timms_safetensors_and_the_model_computes_the_source(served):
    serve, httpd = served
    logits = {"classifier_activation": None}
    source = randomize_keras_weights(cnnzoo.resnet18(input_shape=(64, 64, 3), **logits))
    entry = serve("resnet18.a1_in1k", safetensors.numpy.save(export_state_dict(source)))
    model = cnnzoo.resnet18(input_shape=(64, 64, 3), weights="resnet18.a1_in1k", **logits)
    x = np.random.default_rng(0).uniform(-2, 2, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(source(x))
    assert _relative_difference(model(x), expected) < 1e-6
    assert cached_file(entry).exists() and len(httpd.requests) == 1

    # From the cache: gray inputs, ten classes, no classifier.
    gray = cnnzoo.resnet18(input_shape=(48, 48, 1), num_classes=10)
    report = load_pretrained(gray, "resnet18.a1_in1k")
    assert len(httpd.requests) == 1 and report.pretrained == entry
    assert [name for name, _ in report.skipped] == ["predictions"]
    assert report.adapted == (("stem_conv", "kernel summed over 3 input channels to 1"),)
    assert str(report).endswith(f"Inputs: {entry.preprocessing.describe()}.")
    assert "bicubic" in str(report) and report.source == "resnet18.a1_in1k"
    # Other channel counts: RGB repeated cyclically and rescaled by 3 / C (as timm does). For
    # a multiple of 3, equal channels give exactly what RGB gives; 4 channels load too.
    for channels in (4, 6):
        other = cnnzoo.resnet18(input_shape=(64, 64, channels), **logits)
        report = load_pretrained(other, "resnet18.a1_in1k")
        assert report.adapted == ((
            "stem_conv",
            f"kernel repeated cyclically and rescaled from 3 input channels to {channels}",
        ),)  # fmt: skip
    flat = np.repeat(x[..., :1], 6, axis=-1)
    assert _relative_difference(other(flat), source(flat[..., :3])) < 1e-5
    features = cnnzoo.resnet18(input_shape=(64, 64, 3), include_top=False, pooling="avg")
    report = load_pretrained(features, "resnet18.a1_in1k")
    assert len(report.loaded) == 40 and ("fc.weight", "ignored") in report.skipped
    backbone = keras.Model(source.input, source.get_layer("head_avg_pool").output)
    np.testing.assert_allclose(features(x), backbone(x), atol=1e-6)


@pytest.mark.parametrize("tag", ["resnet18.tv_in1k", "resnet18.a1_in1k"])
def test_a_tag_loads_into_a_3d_resnet18_for_16_frame_clips(served, tag):
    """The issue's example, ``resnet18(input_shape=(16, 112, 112, 3), weights=TAG)``, with
    torchvision's .pth (where PyTorch is installed) and timm's safetensors: the stem keeps
    the 16 frames, and each 2-D kernel is repeated along depth and divided by its depth."""
    serve, _ = served
    source = randomize_keras_weights(cnnzoo.resnet18(input_shape=(32, 32, 3)))
    state = export_state_dict(source)
    if tag.endswith("tv_in1k"):
        torch = pytest.importorskip("torch")
        buffer = io.BytesIO()
        torch.save({name: torch.from_numpy(value) for name, value in state.items()}, buffer)
        serve(tag, buffer.getvalue())
    else:
        serve(tag, safetensors.numpy.save(state))
    clip = cnnzoo.resnet18(input_shape=(16, 112, 112, 3), weights=tag)
    assert clip.get_layer("stem_conv").strides == (1, 2, 2)
    assert clip.get_layer("stage4_out").output.shape[1:4] == (2, 4, 4)
    for name in ("stem_conv", "stage3_block1_1_conv", "predictions"):
        kernel = np.asarray(clip.get_layer(name).get_weights()[0])
        flat = kernel.sum(axis=0) if kernel.ndim == 5 else kernel
        np.testing.assert_allclose(flat, source.get_layer(name).get_weights()[0], atol=1e-6)


def test_a_keras_model_without_its_top_downloads_keras_notop_file(served, tmp_path):
    serve, httpd = served
    path = tmp_path / "notop.h5"
    shape = (32, 32, 3)
    keras_vgg = random_keras_application(keras.applications.VGG16, path, shape, include_top=False)
    entry = serve("vgg16.keras_in1k", b"the file with the top", without_top=path.read_bytes())
    model = cnnzoo.vgg16(input_shape=shape, include_top=False, weights="imagenet")
    x = random_images(shape, low=-1)
    assert _relative_difference(eager_outputs(model, x), eager_outputs(keras_vgg, x)) < 1e-6
    assert httpd.requests == [f"/good/{entry.without_top().file_name}"]
    assert entry.without_top().file_name == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def test_a_pytorch_checkpoint_without_pytorch_says_how_to_install_it(served, monkeypatch, tmp_path):
    serve, httpd = served
    serve("resnet18.tv_in1k", b"a .pth file")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ImportError, match=r"needs PyTorch: pip install torch .*") as raised:
        cnnzoo.resnet18(input_shape=(32, 32, 3), weights="imagenet")  # resnet18.tv_in1k
    assert "resnet18.a1_in1k need no PyTorch" in str(raised.value)
    assert httpd.requests == []  # refused before downloading what it could not read
    path = tmp_path / "resnet18.pth"
    path.write_bytes(b"a .pth file")
    with pytest.raises(ImportError, match=r"resnet18\.pth needs PyTorch: pip install torch"):
        cnnzoo.resnet18(input_shape=(32, 32, 3), weights=path)


def test_an_unknown_tag_is_refused_before_anything_is_built(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ValueError, match=r"weights='resnet18\.tv_in1kk'.*Closest: resnet18"):
        cnnzoo.resnet18(weights="resnet18.tv_in1kk")
    with pytest.raises(ValueError, match=r"resnet18\.tv_in1k.*received weights=3\.5"):
        cnnzoo.resnet18(weights=3.5)
    assert not list(tmp_path.iterdir())


def test_imagenet_means_the_first_weights_that_fit_the_arguments_given():
    assert builder_arguments("imagenet", "resnet50", {}) == {"weights": "resnet50.tv_in1k"}
    assert builder_arguments("imagenet", "resnet50", {"variant": "v1"}) == {
        "weights": "resnet50.keras_in1k"
    }
    assert builder_arguments("imagenet", "inception_v3", {}) == {
        "weights": "inception_v3.keras_in1k"
    }
    assert builder_arguments("inception_v3.tv_in1k", "inception_v3", {}) == {
        "variant": "torchvision"
    }
    assert builder_arguments("resnet50.keras_in1k", "resnet50", {"variant": "v1"}) == {}


@pytest.mark.slow
def test_finetune_from_a_tag_records_its_preprocessing_and_predict_applies_it(
    served, digits_folder, tmp_path, capsys
):
    from cnnzoo.cli import main
    from cnnzoo.training import finetune

    serve, _ = served
    source = randomize_keras_weights(cnnzoo.resnet18(input_shape=(32, 32, 3)))
    serve("resnet18.a1_in1k", safetensors.numpy.save(export_state_dict(source)))
    out = tmp_path / "run"
    finetune("resnet18", digits_folder, weights="resnet18.a1_in1k", out=out, verbose=0,
             model_kwargs={"input_shape": (32, 32, 3)},
             phases=[{"epochs": 1}, {"epochs": 1}])  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["preprocessing"] == "resnet18.a1_in1k"
    assert "Inputs: resize 236 (bicubic)" in (out / "weights_report.txt").read_text()
    image = next(digits_folder.glob("d3/*.png"))
    assert main(["predict", str(out), str(image)]) == 0
    assert re.search(r"d[38]\s+\d", capsys.readouterr().out)


def test_cnnzoo_finetune_offline_exits_1_in_one_line_and_writes_nothing(
    digits_folder, tmp_path, monkeypatch, capsys
):
    from cnnzoo.cli import main

    monkeypatch.setenv(MIRROR_VARIABLE, "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as raised:
        main(["finetune", "resnet18", "--weights", "resnet18.a1_in1k", "--data",
              str(digits_folder), "--out", str(out)])  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert raised.value.code == 1 and error.count("\n") == 0
    assert error.startswith("cnnzoo finetune: Could not download the weights resnet18.a1_in1k")
    assert not out.exists() and not (tmp_path / "keras_home" / "models").exists()


def test_cnnzoo_predict_on_a_tag_names_imagenet_classes(served, tmp_path, capsys):
    from PIL import Image

    from cnnzoo.cli import main
    from cnnzoo.pretrained.images import prepare_image

    serve, _ = served
    source = randomize_keras_weights(cnnzoo.resnet18())
    entry = serve("resnet18.a1_in1k", safetensors.numpy.save(export_state_dict(source)))
    image = tmp_path / "wide.jpg"
    pixels = np.random.default_rng(0).integers(0, 256, (180, 320, 3), dtype="uint8")
    Image.fromarray(pixels).save(image)
    prepared = prepare_image(image, entry.preprocessing)  # 236 on the short side, bicubic
    assert prepared.shape == (224, 224, 3)
    expected = np.asarray(source(prepared[None]))[0]
    best = np.argsort(expected)[::-1][:2]
    assert main(["predict", "resnet18.a1_in1k", str(image), "--top-k", "2"]) == 0
    names = imagenet_class_names()
    shown = ", ".join(f"{names[i]} {expected[i]:.3f}" for i in best)
    assert capsys.readouterr().out.strip().endswith(f"{image}: {shown}")
