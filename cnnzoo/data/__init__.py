"""Data for cnnzoo: the bundled samples (image folders and TFDS come with later work)."""

from cnnzoo.data.sample import SampleSplits, Split, load_sample

__all__ = ["SampleSplits", "Split", "load_sample"]
