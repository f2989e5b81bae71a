"""Is the input pipeline ever the bottleneck? Images per second of cnnzoo's ``pipeline`` with
the ``"standard"`` augmentation, against one training step of ``resnet20`` on 32x32 images,
measured in the same run; the ratio must stay above 3 (the pipeline keeps the model fed with
room to spare).

    .venv/bin/python benchmarks/input_pipeline.py [--images 2048] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from cnnzoo import resnet20
from cnnzoo.data import pipeline


def pipeline_images_per_second(images, labels, model, batch_size: int) -> float:
    dataset = pipeline(
        (images, labels), model, batch_size=batch_size, augment="standard", shuffle=True, seed=0
    )
    for _ in dataset.take(2):  # trace the functions and fill the prefetch buffer
        pass
    start = time.perf_counter()
    count = sum(int(batch.shape[0]) for batch, _ in dataset)
    return count / (time.perf_counter() - start)


def training_images_per_second(images, labels, model, batch_size: int) -> float:
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images[: 2 * batch_size], labels[: 2 * batch_size], batch_size=batch_size,
              verbose=0)  # fmt: skip
    start = time.perf_counter()
    model.fit(images, labels, batch_size=batch_size, epochs=1, verbose=0)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="32x32 RGB images per pass")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(args.images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=args.images)
    keras.utils.set_random_seed(0)
    model = resnet20()
    feed = pipeline_images_per_second(images, labels, model, args.batch_size)
    train = training_images_per_second(images.astype("float32"), labels, model, args.batch_size)
    print(f"{'input pipeline (standard augmentation)':42s} {feed:10.0f} images/s")
    print(f"{'resnet20 training step':42s} {train:10.0f} images/s")
    print(f"{'ratio (must be above 3)':42s} {feed / train:10.1f}")


if __name__ == "__main__":
    main()
