"""The family declarations (cnnzoo.family): one value per family, read by everything else."""

import ast
import inspect
from pathlib import Path

import pytest
from conftest import small_kwargs

import cnnzoo
from cnnzoo.family import Family, NamedModel, SearchDefaults
from cnnzoo.models.resnet import plan_strides
from cnnzoo.registry import families, model_family, named_model, natural_key
from cnnzoo.transfer.imagenet import keras_architectures
from cnnzoo.tuning.hypermodel import architecture_kwargs, search_model
from cnnzoo.tuning.space import knobs_for

PACKAGE = Path(cnnzoo.__file__).parent
FAMILY_NAMES = {family.name for family in families()}


def test_every_registered_name_is_an_importable_function_with_an_example():
    for name in cnnzoo.list_models():
        function = getattr(cnnzoo, name)
        assert function is named_model(name).function
        assert function.__name__ == name
        assert "Example:" in inspect.getdoc(function), name
        assert name in cnnzoo.__all__
    from cnnzoo import googlenet_bn, lenet5_modern, resnet50  # noqa: F401  the issue's three


def test_every_named_function_is_written_out_in_its_family_file():
    # One way to define a named model: `def NAME(` in the family's file (no generated closures).
    for family in families():
        for named in family.models:
            source = Path(inspect.getsourcefile(inspect.unwrap(named.function))).read_text()
            assert f"def {named.name}(" in source, named.name


def test_no_family_is_named_outside_the_model_files():
    # `if family == "vgg"` ladders belong in the family's own file: outside cnnzoo/models/,
    # no comparison names a family.
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "models" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                strings = {
                    item.value
                    for part in [node.left, *node.comparators]
                    for item in ast.walk(part)
                    if isinstance(item, ast.Constant) and isinstance(item.value, str)
                }
                if strings & FAMILY_NAMES:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders


def test_a_family_declaration_is_checked_when_it_is_made():
    named = NamedModel(cnnzoo.lenet5)
    with pytest.raises(ValueError, match="search_model must be one of"):
        Family("x", cnnzoo.lenet5, "paper", 2000, (32, 32, 1), 32, (named,), "vgg16")
    with pytest.raises(ValueError, match="names a model twice"):
        Family("x", cnnzoo.lenet5, "paper", 2000, (32, 32, 1), 32, (named, named), "lenet5")
    with pytest.raises(ValueError, match="reference_counts must be one of"):
        NamedModel(cnnzoo.lenet5, reference_counts="some")
    with pytest.raises(ValueError, match="family named 'lenet' is already registered"):
        cnnzoo.register_family(model_family("lenet5"))


def test_a_model_registered_on_its_own_has_no_family_but_searches_the_shared_knobs(
    registry_restored,
):
    cnnzoo.register_model(
        "test_family_loner", cnnzoo.lenet5, family="loner", paper="p", year=2000,
        default_input_shape=(32, 32, 1), min_input_size=32,
    )  # fmt: skip
    with pytest.raises(ValueError, match="registered on its own"):
        model_family("test_family_loner")
    names = {knob.name for knob in knobs_for("test_family_loner")}
    assert {"learning_rate", "dropout"} <= names
    assert not names & {"depth", "width", "kernel_size", "padding"}


@pytest.mark.parametrize("family", families(), ids=lambda family: family.name)
def test_the_search_reads_the_declaration(family):
    search = family.search
    assert search_model(family.name) == family.search_model
    for named in family.models:
        knobs = {knob.name: knob for knob in knobs_for(named.name)}
        for knob in ("depth", "width", "kernel_size", "padding"):
            expected = knob in search.knobs and knob not in named.search_skips
            assert (knob in knobs) == expected, (named.name, knob)
        assert knobs["dropout"].default_for(named.name) == search.dropout
        assert knobs["pooling"].default_for(named.name) == search.pooling
        batch_norm = search.batch_norm or named.defaults.get("norm") == "batch"
        assert knobs["batch_norm"].default_for(named.name) == batch_norm
        for depth, name in named.search_depths.items():
            assert model_family(name) is family
            assert architecture_kwargs(named.name, {"depth": depth})[0] == name


@pytest.mark.parametrize(
    "family",
    [family for family in families() if family.scale_width is not None],
    ids=lambda family: family.name,
)
def test_half_width_halves_every_layer(family):
    name = next(named.name for named in family.models if "width" not in named.search_skips)
    kwargs = small_kwargs(name)
    kwargs.pop("fc_units", None)  # the scaling sets the hidden layers
    full = cnnzoo.create_model(name, **kwargs, **family.scale_width(named_model(name).defaults, 1))
    half = cnnzoo.create_model(
        name, **kwargs, **family.scale_width(named_model(name).defaults, 0.5)
    )
    # Halving every width roughly quarters the convolutions' and dense layers' weights.
    assert half.count_params() < 0.4 * full.count_params()


def test_keras_weights_come_from_the_declarations():
    assert sorted(keras_architectures(), key=natural_key) == [
        "inception_v3", "resnet50", "resnet50v2", "resnet101", "resnet101v2", "resnet152",
        "resnet152v2", "vgg16", "vgg19",
    ]  # fmt: skip


def test_the_default_search_values_of_a_family_are_data():
    assert SearchDefaults() == SearchDefaults(
        knobs=(), kernel_size=3, padding="same", pooling="avg", dropout=0.0, batch_norm=False
    )


# ----- ResNet's stride plan ----------------------------------------------------------------


def test_the_stride_plan_moves_each_stride_to_the_block_before_with_downsample_last():
    assert plan_strides((2, 2), (1, 2)) == ((1, 1), (2, 1))
    assert plan_strides((2, 2), (1, 2), "last") == ((1, 2), (1, 1))
    # A one-block stage hands its next stride on from its only block.
    assert plan_strides((1, 1, 1), None, "last") == ((2,), (2,), (1,))
    # Per-axis strides move whole.
    assert plan_strides((2, 2), ((1, 1), (2, 1)), "last") == (((1, 1), (2, 1)), (1, 1))
    with pytest.raises(ValueError, match="cannot stride a one-block first stage twice"):
        plan_strides((1, 2), (2, 2), "last")


@pytest.mark.parametrize("downsample", ["first", "last"])
def test_the_built_network_downsamples_where_the_plan_says(downsample):
    model = cnnzoo.resnet(
        None, block="basic", depths=(2, 1, 2), widths=(4, 4, 4), stem="cifar",
        input_shape=(16, 16, 3), downsample=downsample, include_top=False,
    )  # fmt: skip
    plan = plan_strides((2, 1, 2), None, downsample)
    size = 16
    for stage, strides in enumerate(plan, start=1):
        for block, stride in enumerate(strides, start=1):
            size = -(-size // stride)
            output = model.get_layer(f"stage{stage}_block{block}_out").output
            assert output.shape[1] == size, (stage, block)
