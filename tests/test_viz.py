"""Pictures (cnnzoo.viz) and hand-made filters (cnnzoo.layers.filters)."""

import struct

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnzoo import lenet5
from cnnzoo.layers import KERNELS, HandMadeFilters, conv_norm_act
from cnnzoo.tuning.results import plot_scores
from cnnzoo.viz import (
    best_epoch,
    confusion_counts,
    confusion_matrix,
    feature_maps,
    filter_responses,
    first_layer_filters,
    learning_curves,
    read_history,
)

# A 12x12 image, dark on the left and bright on the right: one vertical edge.
VERTICAL_EDGE = np.repeat(np.repeat([[0.0, 1.0]], 12, axis=0), 6, axis=1)[..., None]


def assert_png_of(figure, path):
    """The file is a PNG of the figure's size at the 100 dpi that the pictures use."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    expected_width, expected_height = figure.get_size_inches() * 100
    assert abs(width - expected_width) <= 1 and abs(height - expected_height) <= 1
    assert width >= 200 and height >= 150


def drawn(axis) -> np.ndarray:
    return np.asarray(axis.images[0].get_array())


# ----- hand-made filters -------------------------------------------------------------------


def test_kernels_are_the_textbook_ones():
    np.testing.assert_array_equal(KERNELS["sobel_x"], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(KERNELS["sobel_y"], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(KERNELS["prewitt_x"], [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(KERNELS["prewitt_y"], [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(KERNELS["laplacian"], [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(KERNELS["sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(KERNELS["box_blur"], np.full((3, 3), 1 / 9))
    with pytest.raises(ValueError, match="read-only"):
        KERNELS["sobel_x"][0, 0] = 5


def test_banks_cycle_over_filters_and_split_over_channels():
    kernel = keras.ops.convert_to_numpy(HandMadeFilters("edges")((3, 3, 3, 7)))
    order = ["prewitt_x", "prewitt_y", "sobel_x", "sobel_y", "laplacian", "prewitt_x", "prewitt_y"]
    for index, name in enumerate(order):
        for channel in range(3):
            np.testing.assert_allclose(kernel[:, :, channel, index], KERNELS[name] / 3)
    five = keras.ops.convert_to_numpy(HandMadeFilters("laplacian")((5, 5, 1, 1)))[..., 0, 0]
    np.testing.assert_array_equal(five[1:4, 1:4], KERNELS["laplacian"])
    assert np.count_nonzero(five) == 5  # zeros around the 3x3 filter


def test_hand_made_filter_errors():
    with pytest.raises(ValueError, match=r"bank must be one of .*received bank='sobell'"):
        HandMadeFilters("sobell")
    with pytest.raises(ValueError, match=r"odd height and width .*received shape=\(4, 4, 1, 2\)"):
        HandMadeFilters("sobel")((4, 4, 1, 2))
    with pytest.raises(ValueError, match=r"received shape=\(3, 1, 2\)"):
        keras.layers.Conv1D(2, 3, kernel_initializer="sobel").build((None, 10, 1))


def test_sobel_by_name_finds_vertical_edges():
    conv = keras.layers.Conv2D(2, 3, kernel_initializer="sobel", use_bias=False)
    x_response, y_response = np.moveaxis(
        keras.ops.convert_to_numpy(conv(VERTICAL_EDGE[None]))[0], -1, 0
    )
    assert isinstance(conv.kernel_initializer, HandMadeFilters)
    np.testing.assert_allclose(x_response.max(), 4.0)  # 1 + 2 + 1 across the edge
    np.testing.assert_allclose(x_response[:, 0], 0.0)  # flat region: no response
    np.testing.assert_allclose(y_response, 0.0, atol=1e-6)


def test_initializer_name_works_in_conv_norm_act_and_survives_keras_file(tmp_path):
    inputs = keras.Input((12, 12, 3))
    outputs = conv_norm_act(inputs, 5, 3, kernel_initializer="edges", activation=None, name="c")
    model = keras.Model(inputs, outputs)
    kernel = keras.ops.convert_to_numpy(model.get_layer("c_conv").kernel)
    np.testing.assert_allclose(kernel[:, :, 1, 2], KERNELS["sobel_x"] / 3)
    model.save(tmp_path / "edges.keras")
    reloaded = keras.saving.load_model(tmp_path / "edges.keras")
    initializer = reloaded.get_layer("c_conv").kernel_initializer
    assert isinstance(initializer, HandMadeFilters) and initializer.bank == "edges"
    image = np.repeat(VERTICAL_EDGE, 3, axis=-1)[None]
    np.testing.assert_allclose(reloaded(image), model(image), atol=1e-6)


# ----- learning curves ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_fit(tmp_path_factory):
    """One real fit of a tiny model: its History and the CSVLogger file of the same run."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    log = tmp_path_factory.mktemp("fit") / "history.csv"
    rng = np.random.default_rng(0)
    history = model.fit(
        rng.normal(size=(32, 8, 8, 1)),
        rng.integers(0, 3, size=32),
        validation_split=0.25,
        epochs=3,
        batch_size=8,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(log))],
    )
    return history, log


def test_learning_curves_from_history_and_csv_logger(tiny_fit, tmp_path):
    history, log = tiny_fit
    assert log.read_text().splitlines()[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    for source in (history, history.history, log, str(log)):
        path = tmp_path / "curves.png"
        figure = learning_curves(source, path, title="tiny")
        assert_png_of(figure, path)
        assert [axis.get_title() for axis in figure.axes] == ["loss", "accuracy"]
        for axis in figure.axes:
            train, validation = curve(axis, "train"), curve(axis, "validation")
            metric = axis.get_title()
            assert axis.get_xlabel() == "epoch" and axis.get_ylabel() == metric
            np.testing.assert_allclose(train.get_ydata(), history.history[metric], rtol=1e-5)
            np.testing.assert_allclose(validation.get_ydata(), history.history[f"val_{metric}"])
            np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])


def curve(axis, label):
    (line,) = [line for line in axis.get_lines() if line.get_label() == label]
    return line


def best_marks(axis) -> list:
    """The best-epoch line of a panel, with the star when the panel has one."""
    return [line for line in axis.get_lines() if line.get_label().startswith("best")] + [
        line for line in axis.get_lines() if line.get_marker() == "*"
    ]


# Validation accuracy peaks at epoch 3, validation loss at epoch 2.
OVERFITTING = {
    "loss": [1.0, 0.6, 0.4, 0.3, 0.2],
    "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9],
    "val_loss": [1.1, 0.5, 0.55, 0.7, 0.9],
    "val_accuracy": [0.4, 0.6, 0.75, 0.7, 0.65],
}


def test_best_epoch_by_the_metric_direction():
    assert best_epoch(OVERFITTING, "val_accuracy") == 3
    assert best_epoch(OVERFITTING, "val_loss") == 2
    assert best_epoch({"val_mean_absolute_error": [3, 1, 2]}, "val_mean_absolute_error") == 2
    assert best_epoch({"val_loss": [0.5, float("nan"), 0.5, 0.7]}, "val_loss") == 1  # tie
    assert best_epoch({"val_loss": [float("nan")]}, "val_loss") is None
    assert best_epoch(OVERFITTING, "val_auc") is None


def test_learning_curves_mark_the_best_epoch(tmp_path):
    figure = learning_curves(OVERFITTING, tmp_path / "curves.png")
    loss_panel, accuracy_panel = figure.axes
    for axis in figure.axes:  # the dotted line in every panel, at the epoch train() keeps
        line = best_marks(axis)[0]
        assert line.get_label() == "best val_accuracy: epoch 3"
        assert list(line.get_xdata()) == [3, 3] and line.get_linestyle() == ":"
        assert line.get_label() in axis.get_legend_handles_labels()[1]
    assert len(best_marks(loss_panel)) == 1  # no star: the loss does not decide
    star = best_marks(accuracy_panel)[1]
    assert (list(star.get_xdata()), list(star.get_ydata())) == ([3], [0.75])

    by_loss = learning_curves(OVERFITTING, tmp_path / "curves.png", best="val_loss")
    line, star = best_marks(by_loss.axes[0])
    assert line.get_label() == "best val_loss: epoch 2"
    assert (list(star.get_xdata()), list(star.get_ydata())) == ([2], [0.5])

    unmarked = learning_curves(OVERFITTING, tmp_path / "curves.png", best=None)
    assert all(best_marks(axis) == [] for axis in unmarked.axes)
    training_only = {"loss": [1.0, 0.5], "accuracy": [0.2, 0.4]}
    assert best_marks(learning_curves(training_only, tmp_path / "x.png").axes[0]) == []
    with pytest.raises(ValueError, match=r"best must name a metric .*received best='val_acc'"):
        learning_curves(OVERFITTING, tmp_path / "x.png", best="val_acc")


def test_learning_curves_name_the_phases_of_a_fine_tuning_run(tmp_path):
    log = tmp_path / "history.csv"  # as training.finetune writes it
    rows = ["epoch,accuracy,loss,phase,val_accuracy,val_loss"]
    for epoch, phase in enumerate([1, 1, 2, 2, 2]):
        rows.append(f"{epoch},0.{epoch + 1},1.{9 - epoch},{phase},0.5,1.0")
    log.write_text("\n".join(rows) + "\n")
    figure = learning_curves(log, tmp_path / "curves.png")
    for axis in figure.axes:
        (top,) = axis.child_axes  # the phase names along the top of the panel
        np.testing.assert_allclose(top.get_xticks(), [1.5, 4.0])  # epochs 1-2 and 3-5
        assert [label.get_text() for label in top.get_xticklabels()] == ["phase 1", "phase 2"]
        boundaries = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
        assert [list(line.get_xdata()) for line in boundaries] == [[2.5, 2.5]]
        (shade,) = axis.patches  # phase 2 shaded to the right edge
        assert shade.get_x() == 2.5 and shade.get_width() == 3 and axis.get_xlim() == (0.5, 5.5)
    plain = learning_curves(OVERFITTING, tmp_path / "plain.png")
    assert all(axis.child_axes == [] for axis in plain.axes)  # no phases, nothing named


def test_read_history_errors(tmp_path):
    with pytest.raises(ValueError, match="history names no file"):
        read_history(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="received list"):
        read_history([0.5, 0.4])
    with pytest.raises(ValueError, match="no epochs"):
        learning_curves({"loss": []}, tmp_path / "x.png")


# ----- confusion matrix --------------------------------------------------------------------


def test_confusion_counts_by_hand():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 2, 2, 2, 0, 2]
    expected = [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    np.testing.assert_array_equal(confusion_counts(y_true, y_pred), expected)
    scores = keras.ops.convert_to_numpy(keras.ops.one_hot(np.array(y_pred), 4))
    np.testing.assert_array_equal(
        confusion_counts(np.array(y_true)[:, None], scores)[:3, :3], expected
    )  # (n, 1) labels, scores with a 4th class never predicted
    fractions = confusion_counts(y_true, y_pred, 4, normalize=True)
    np.testing.assert_allclose(fractions.sum(axis=1), [1, 1, 1, 0])  # class 3 never occurs
    np.testing.assert_allclose(fractions[2], [0.25, 0, 0.75, 0])


def test_confusion_counts_errors():
    with pytest.raises(ValueError, match="same number of examples; received 3 and 2"):
        confusion_counts([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"y_pred holds classes outside \[0, 2\).*\[5\]"):
        confusion_counts([0, 1], [0, 5], 2)
    with pytest.raises(ValueError, match=r"y_true must be class indices .*\[0.5"):
        confusion_counts([0.5, 1], [0, 1])


def test_confusion_matrix_picture(tmp_path):
    path = tmp_path / "deep" / "confusion.png"
    figure = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], path, class_names=["a", "b", "c"])
    assert_png_of(figure, path)
    (axis,) = figure.axes
    assert [text.get_text() for text in axis.texts] == ["1", "1", "0", "0", "1", "0", "0", "0", "1"]
    assert [label.get_text() for label in axis.get_yticklabels()] == ["a", "b", "c"]
    assert figure.texts[0].get_text() == "accuracy 0.750"  # the suptitle
    shares = confusion_matrix([0, 0, 1], [0, 1, 1], tmp_path / "shares.png", normalize=True)
    assert [text.get_text() for text in shares.axes[0].texts] == ["0.50", "0.50", "0.00", "1.00"]


# ----- filters and feature maps ------------------------------------------------------------


def test_first_layer_filters_one_panel_per_filter(tmp_path):
    path = tmp_path / "c1.png"
    figure = first_layer_filters(lenet5(), path)
    assert_png_of(figure, path)
    assert len(figure.axes) == 6
    assert drawn(figure.axes[0]).shape == (5, 5)  # 1 input channel: gray
    assert len(first_layer_filters(lenet5(), path, max_filters=4).axes) == 4
    inputs = keras.Input((8, 8, 3))
    colour = keras.Model(inputs, keras.layers.Conv2D(3, 3, name="rgb")(inputs))
    panels = first_layer_filters(colour, path).axes
    assert [drawn(axis).shape for axis in panels] == [(3, 3, 3)] * 3
    for axis in panels:  # each filter stretched to its own range
        assert drawn(axis).min() == 0 and drawn(axis).max() == 1
    with pytest.raises(ValueError, match=r"layer must be a 2-D convolution .*'s2_pool'"):
        first_layer_filters(lenet5(), path, layer="s2_pool")
    with pytest.raises(ValueError, match="max_filters must be a positive int; received max"):
        first_layer_filters(lenet5(), path, max_filters=0)


def test_feature_maps_one_row_per_stage_with_maps(tmp_path):
    model = lenet5(input_shape=(28, 28, 1), padding=(2, "valid", "valid"))
    digit = np.random.default_rng(0).uniform(size=(28, 28, 1))
    path = tmp_path / "maps.png"
    figure = feature_maps(model, digit, path, max_maps=16)
    assert_png_of(figure, path)
    row_labels = [axis.get_ylabel() for axis in figure.axes if axis.get_ylabel()]
    # stage3_out (C5) is 1x1x120: 120 numbers, no picture, so no row of blank tiles.
    assert row_labels == ["stage1_out\n14x14x6", "stage2_out\n5x5x16"]
    assert len(figure.axes) == 6 + 16
    assert all(np.ptp(drawn(axis)) > 0 for axis in figure.axes)
    with pytest.raises(ValueError, match=r"larger than 1x1; layer 'stage3_out' outputs shape"):
        feature_maps(model, digit, path, layers=["stage1_out", "stage3_out"])


def test_feature_maps_leave_out_constant_maps(tmp_path):
    # Channels 1 and 3 of "dead" are zero everywhere, as a ReLU's dead maps are.
    inputs = keras.Input((12, 12, 1))
    kernel = np.zeros((3, 3, 1, 4), "float32")
    kernel[..., 0, 0], kernel[..., 0, 2] = KERNELS["sobel_x"], -KERNELS["sobel_x"]
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="dead")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([kernel, np.zeros(4, "float32")])
    path = tmp_path / "maps.png"
    figure = feature_maps(model, VERTICAL_EDGE, path, layers="dead")
    assert [axis.get_title() for axis in figure.axes] == ["0", "2"]
    assert figure.axes[0].get_ylabel() == "dead\n12x12x4\n2 constant"
    assert all(np.ptp(drawn(axis)) > 0 for axis in figure.axes)
    conv.set_weights([np.zeros_like(kernel), np.zeros(4, "float32")])
    (axis,) = feature_maps(model, VERTICAL_EDGE, path, layers="dead").axes
    assert len(axis.images) == 0 and axis.texts[0].get_text() == "every map\nis constant"
    assert axis.get_ylabel() == "dead\n12x12x4\n4 constant"


def test_feature_maps_shows_the_most_active_maps(tmp_path):
    inputs = keras.Input((12, 12, 1))
    edges = keras.layers.Conv2D(5, 3, kernel_initializer="edges", name="edges")(inputs)
    model = keras.Model(inputs, edges)
    figure = feature_maps(model, VERTICAL_EDGE, tmp_path / "maps.png", layers="edges", max_maps=2)
    # On a vertical edge Sobel x (map 2) and Prewitt x (map 0) respond most; y maps are 0.
    assert [axis.get_title() for axis in figure.axes] == ["0", "2"]
    with pytest.raises(
        ValueError, match=r"image must match .*\(12, 12, 1\); received shape \(8, 8, 1\)"
    ):
        feature_maps(model, np.zeros((8, 8, 1)), tmp_path / "x.png", layers="edges")
    with pytest.raises(ValueError, match="has no stage"):
        feature_maps(model, VERTICAL_EDGE, tmp_path / "x.png")


def test_filter_responses_beside_learned_filters(tmp_path):
    path = tmp_path / "responses.png"
    figure = filter_responses(VERTICAL_EDGE, path)
    assert_png_of(figure, path)
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == [
        "image",
        "prewitt_x",
        "sobel_x",
        "sobel_y",
        "laplacian",
        "box_blur",
        "sharpen",
    ]
    sobel_x, sobel_y = drawn(figure.axes[2]), drawn(figure.axes[3])
    assert np.abs(sobel_x).max() == 4.0
    np.testing.assert_allclose(sobel_y[1:-1], 0.0, atol=1e-6)  # away from the zero padding
    model = lenet5(input_shape=(12, 12, 1), kernel_size=(5, 3, 1), padding="same")
    both = filter_responses(VERTICAL_EDGE, path, filters=["sobel_x", "sobel_y"], learned=model)
    assert [axis.get_title() for axis in both.axes][3:] == ["c1_conv 0", "c1_conv 1"]
    kernel = keras.ops.convert_to_numpy(model.get_layer("c1_conv").kernel)
    expected = keras.ops.conv(VERTICAL_EDGE[None].astype("float32"), kernel, padding="same")
    np.testing.assert_allclose(drawn(both.axes[4]), expected[0, ..., 1], atol=1e-6)
    with pytest.raises(ValueError, match=r"filters must be names from .*'sobel'"):
        filter_responses(VERTICAL_EDGE, path, filters=["sobel"])
    with pytest.raises(ValueError, match="reads 1 channels; received an image with 3"):
        filter_responses(np.zeros((12, 12, 3)), path, learned=model)
    assert plt.get_fignums() == []  # no figure left open


# ----- the tuning score plot ---------------------------------------------------------------


def test_the_score_plot_numbers_trials_from_one_with_whole_ticks(tmp_path):
    rows = [
        {"trial_id": "0", "status": "COMPLETED", "score": 0.5},
        {"trial_id": "1", "status": "FAILED", "score": None},
        {"trial_id": "2", "status": "COMPLETED", "score": 0.7},
    ]
    figure = plot_scores(rows, tmp_path / "scores.png", "val_accuracy")
    (axis,) = figure.axes
    assert list(curve(axis, "val_accuracy").get_xdata()) == [1, 3]
    assert list(curve(axis, "failed").get_xdata()) == [2]
    visible = [tick for tick in axis.get_xticks() if 0.5 <= tick <= 3.5]
    assert visible == [1, 2, 3]  # whole trials, not 0.5 steps
    assert axis.get_xlim() == (0.5, 3.5)
    (one,) = plot_scores(rows[:1], tmp_path / "one.png", "val_accuracy").axes
    assert [tick for tick in one.get_xticks() if 0.5 <= tick <= 1.5] == [1]
    # The numbers are the trial IDs plus one, as the search's lines print them.
    resumed = [{**row, "trial_id": f"{int(row['trial_id']) + 2:02d}"} for row in rows]
    (axis,) = plot_scores(resumed, tmp_path / "ids.png", "val_accuracy").axes
    assert list(curve(axis, "val_accuracy").get_xdata()) == [3, 5]
    assert axis.get_xlim() == (0.5, 5.5)
