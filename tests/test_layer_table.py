"""The per-layer table of ``cnnzoo info``: it must agree with ``model.summary()`` (layers,
output shapes, parameter counts and totals), with the convolution arithmetic of the course
notes, and with ``count_macs``.
"""

import re

import keras
import pytest

from cnnzoo import create_model, lenet5
from cnnzoo.compute import (
    COST_KINDS,
    count_macs,
    format_layer_table,
    layer_kind,
    layer_table,
)
from cnnzoo.layers.arithmetic import output_size


def _summary(model, monkeypatch):
    """``(rows, totals)`` parsed from ``model.summary()``: rows of (name, output shape,
    params), totals of "Total", "Trainable" and "Non-trainable" params."""
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps and truncates cells to the console
    lines = []
    model.summary(line_length=300, print_fn=lambda text, **kwargs: lines.extend(text.split("\n")))
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) >= 3 and cells[1].startswith("(None"):
            name = re.fullmatch(r"(.+) \(\w+\)", cells[0])[1]
            rows.append((name, cells[1], int(cells[2].replace(",", ""))))
    totals = {
        match[1]: int(match[2].replace(",", ""))
        for match in re.finditer(
            r"(Total|Trainable|Non-trainable) params: ([\d,]+)", "\n".join(lines)
        )
    }
    return rows, totals


SUMMARY_MODELS = {
    # The paper's LeNet-5 (connection table, trainable subsampling), with augmentation: a
    # nested Sequential is one row in both.
    "lenet5": lambda: lenet5(augmentation="standard"),
    # VGG at its smallest input, with batch norm (non-trainable moving statistics).
    "vgg11_bn_32": lambda: create_model(
        "vgg11_bn", input_shape=(32, 32, 3), num_classes=10, fc_units=(32,)
    ),
    "resnet18_64": lambda: create_model("resnet18", input_shape=(64, 64, 3), num_classes=10),
}


@pytest.mark.parametrize("name", sorted(SUMMARY_MODELS))
def test_table_agrees_with_model_summary(name, monkeypatch):
    model = SUMMARY_MODELS[name]()
    summary_rows, totals = _summary(model, monkeypatch)
    rows = layer_table(model)
    assert summary_rows[0][0] == "input"  # the summary lists the InputLayer; the table skips it
    expected = [(n, s, p) for n, s, p in summary_rows[1:]]
    got = [(row.name, str((None, *row.output_shape)), row.params) for row in rows]
    assert got == expected
    trainable = sum(row.trainable_params for row in rows)
    non_trainable = sum(row.non_trainable_params for row in rows)
    assert (sum(row.params for row in rows), trainable, non_trainable) == (
        totals["Total"],
        totals["Trainable"],
        totals["Non-trainable"],
    )
    assert sum(row.macs for row in rows) == count_macs(model)
    last = format_layer_table(rows).splitlines()[-1]
    assert last == (
        f"Total params: {totals['Total']:,} (trainable {totals['Trainable']:,}, "
        f"non-trainable {totals['Non-trainable']:,}); total MACs: {count_macs(model):,}"
    )
    if name == "vgg11_bn_32":
        assert totals["Non-trainable"] > 0


def _axes(text):
    return tuple(int(v) for v in text.split("x"))


def _geometry(row):
    return row.kind, row.kernel, row.stride, row.padding


def test_lenet5_sizes_follow_the_convolution_arithmetic():
    rows = {row.name: row for row in layer_table(lenet5())}
    # C1, S2, C3, S4, C5 of the paper with its 32x32 input
    names = ("c1_conv", "s2_pool", "c3_conv", "s4_pool", "c5_conv")
    assert [rows[name].output_shape[0] for name in names] == [28, 14, 10, 5, 1]
    assert [rows[name].output_shape[-1] for name in names] == [6, 6, 16, 16, 120]
    # The table's own kernel, stride and padding reproduce each size from the one before.
    size = 32
    for name in names:
        row = rows[name]
        (kernel,), (stride,) = set(_axes(row.kernel)), set(_axes(row.stride))
        size = output_size(size, kernel, stride, row.padding)
        assert row.output_shape[:2] == (size, size), name
    kinds = ["conv2d", "avg pool", "partial conv2d", "avg pool", "conv2d"]
    assert [rows[name].kind for name in names] == kinds
    assert _geometry(rows["c1_conv"]) == ("conv2d", "5x5", "1x1", "valid")
    assert rows["c1_conv"].macs == 117_600
    assert rows["c3_conv"].macs == 60 * 25 * 100  # the connected kernels only
    # The trainable subsampling: a coefficient per map, a 1x1 convolution with a group each.
    assert (rows["s2_conv"].kind, rows["s2_conv"].params) == ("depthwise conv2d", 12)
    assert (rows["head_fc1"].kind, rows["head_fc1"].macs) == ("dense", 120 * 84)


def test_resnet18_rows_report_each_layers_own_geometry():
    rows = {row.name: row for row in layer_table(create_model("resnet18"))}
    stem_pad, stem, pool = rows["stem_pad"], rows["stem_conv"], rows["stem_pool"]
    # The explicit padding is the ZeroPadding layer's; the convolution itself is "valid".
    assert _geometry(stem_pad) == ("zero pad", "", "", "3")
    assert _geometry(stem) == ("conv2d", "7x7", "2x2", "valid")
    assert _geometry(pool) == ("max pool", "3x3", "2x2", "valid")
    assert [stem_pad.output_shape, stem.output_shape, pool.output_shape] == [
        (230, 230, 3),
        (112, 112, 64),
        (56, 56, 64),
    ]
    assert rows["stem_bn"].kind == "batch norm"
    assert (rows["stem_bn"].params, rows["stem_bn"].trainable_params) == (256, 128)
    assert rows["stage1_block1_add"].kind == "add"
    assert rows["stage1_block1_1_act"].kind == "activation"
    assert (rows["head_avg_pool"].kind, rows["head_avg_pool"].output_shape) == (
        "global avg pool",
        (512,),
    )
    # torchvision's figure for the whole network (1.814 GMACs), row by row
    assert sum(row.macs for row in rows.values()) / 1e9 == pytest.approx(1.814, rel=2e-3)


def test_kinds_and_geometry_of_other_layers():
    x = keras.Input((16, 16, 4))
    layers = [
        keras.layers.ZeroPadding2D(((0, 1), (0, 1))),
        keras.layers.ZeroPadding2D((1, 2)),
        keras.layers.Conv2D(8, 3, groups=2, dilation_rate=2),
        keras.layers.DepthwiseConv2D(3),
        keras.layers.SeparableConv2D(4, 3),
        keras.layers.Conv2DTranspose(4, 3),
        keras.layers.MaxPooling2D(3, strides=2, padding="same"),
        keras.layers.AveragePooling2D((2, 1)),
        keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.GaussianNoise(0.1),
        keras.layers.ReLU(),
    ]
    for layer in layers:
        layer(x)
    y = keras.layers.Concatenate(name="concat")([x, x])
    rows = {
        row.name: row
        for row in layer_table(keras.Model(x, [layer.output for layer in layers] + [y]))
    }
    assert [_geometry(rows[layer.name]) for layer in layers] == [
        ("zero pad", "", "", "(0,1)x(0,1)"),
        ("zero pad", "", "", "1x2"),
        ("grouped conv2d", "3x3 d2", "1x1", "valid"),
        ("depthwise conv2d", "3x3", "1x1", "valid"),
        ("separable conv2d", "3x3", "1x1", "valid"),
        ("transposed conv2d", "3x3", "1x1", "valid"),
        ("max pool", "3x3", "2x2", "same"),
        ("avg pool", "2x1", "2x1", "valid"),
        ("global max pool", "", "", ""),
        ("dropout", "", "", ""),
        ("gaussian noise", "", "", ""),
        ("activation", "", "", ""),
    ]
    assert rows["concat"].kind == "concat"
    assert layer_kind(keras.layers.Conv1D(2, 3)) == "conv1d"
    assert layer_kind(keras.layers.Conv3D(2, 3)) == "conv3d"


def test_nested_models_one_row_or_expanded():
    model = lenet5(augmentation="standard")
    rows = layer_table(model)
    assert (rows[0].name, rows[0].kind, rows[0].output_shape) == (
        "augmentation",
        "sequential",
        (32, 32, 1),
    )
    expanded = layer_table(model, expand_nested=True)
    inner = [row for row in expanded if row.name.startswith("augmentation/")]
    assert [row.kind for row in inner] == [
        "random flip",
        "random translation",
        "random rotation",
        "random zoom",
    ]
    assert len(expanded) == len(rows) - 1 + len(inner)
    assert sum(r.params for r in expanded) == sum(r.params for r in rows) == model.count_params()
    assert sum(r.macs for r in expanded) == sum(r.macs for r in rows) == count_macs(model)


def test_include_reaches_the_macs_column():
    model = lenet5(variant="modern", norm="batch")
    rows = {row.name: row for row in layer_table(model, include=COST_KINDS)}
    assert rows["s2_pool"].macs == 14 * 14 * 6 * 4
    assert rows["c1_bn"].macs == 28 * 28 * 6
    assert sum(row.macs for row in rows.values()) == count_macs(model, include=COST_KINDS)
    with pytest.raises(ValueError, match=r"include must be a tuple of kinds"):
        layer_table(model, include=("flops",))
    with pytest.raises(ValueError, match=r"model must be a keras.Model; received model='lenet5'"):
        layer_table("lenet5")


def test_format_aligns_columns():
    text = format_layer_table(layer_table(create_model("resnet18", input_shape=(64, 64, 3))))
    lines = text.splitlines()
    header, rule, body, totals = lines[0], lines[1], lines[2:-2], lines[-1]
    assert header.split()[:2] == ["Layer", "Kind"] and set(rule) == {"-"} and lines[-2] == rule
    # Numbers are right-aligned in the last column, text left-aligned from fixed columns.
    assert {len(line) for line in [header, *body]} == {len(header)}
    kind_column = header.index("Kind")
    assert all(line[kind_column - 2 : kind_column] == "  " for line in body)
    assert "stem_conv" in body[1] and "9,408" in body[1] and "7x7" in body[1]
    assert totals.startswith("Total params: 11,")
