"""The models use only keras and keras.ops, so they build, train and reload on JAX too."""

import os
import subprocess
import sys
import textwrap

import pytest

from cnnzoo import list_models, model_info

pytest.importorskip("jax")

# One model per code path that could depend on the backend (JAX compiles each graph, which
# costs seconds per model): the connection table and scaled tanh, LRN and grouped
# convolutions, batch norm, the post-activation bottleneck, pre-activation blocks, the
# zero-padded shortcut, the Inception module with LRN, and Inception v3's scale-free batch
# norm with asymmetric kernels. The other registered models repeat these layers.
JAX_MODELS = [
    "lenet5", "alexnet", "vgg11_bn", "resnet50", "resnet50v2", "resnet20", "googlenet",
    "inception_v3",
]  # fmt: skip

SCRIPT = textwrap.dedent(
    """
    import sys, keras, numpy as np, cnnzoo
    assert keras.backend.backend() == "jax"
    for name in sys.argv[1:]:
        info = cnnzoo.model_info(name)
        kwargs = dict(input_shape=(info.min_input_size,) * 2 + (2,), num_classes=3)
        if info.family in ("alexnet", "vgg"):  # the families with hidden FC layers
            kwargs["fc_units"] = (8,)
        model = cnnzoo.create_model(name, **kwargs)
        x = np.random.default_rng(0).uniform(size=(2, *model.input_shape[1:])).astype("float32")
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        before = model.predict(x, verbose=0)
        loss = model.train_on_batch(x, np.array([0, 2]))
        after = model.predict(x, verbose=0)
        model.save("model.keras")
        reloaded = keras.saving.load_model("model.keras").predict(x, verbose=0)
        assert np.isfinite(loss) and not np.allclose(before, after), name
        np.testing.assert_allclose(reloaded, after, rtol=1e-5, atol=1e-6)
        print("ok", name)
    """
)


def test_the_jax_models_cover_every_family():
    assert {model_info(name).family for name in JAX_MODELS} == {
        model_info(name).family for name in list_models()
    }


def test_each_family_trains_and_reloads_on_jax(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *JAX_MODELS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [w for name in JAX_MODELS for w in ("ok", name)]
