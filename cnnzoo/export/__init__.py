"""Verified export: a run's model written as ``.keras``, SavedModel, TFLite (optionally
int8 or float16) or ONNX, run with the runtime that serves that format on real images of
the run's data and compared with the Keras model, with its class names and input
description beside it. ``cnnzoo export`` on the command line."""

from cnnzoo.export.formats import (
    EXPORT_FORMATS,
    QUANTIZE_MODES,
    check_export_arguments,
    export_file_name,
    litert_options,
    preprocessing_affine,
    with_preprocessing,
    write_export,
)
from cnnzoo.export.metadata import input_description, write_metadata
from cnnzoo.export.model import (
    ExportImages,
    ExportVerificationError,
    export_model,
    load_export_images,
)
from cnnzoo.export.runtimes import litert_interpreter, load_exported, runtime_missing
from cnnzoo.export.verify import (
    EXPORT_TABLE_HEADER,
    TOLERANCES,
    ExportReport,
    Tolerance,
    export_rows,
    ms_per_image,
    verify_export,
)

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_TABLE_HEADER",
    "QUANTIZE_MODES",
    "TOLERANCES",
    "ExportImages",
    "ExportReport",
    "ExportVerificationError",
    "Tolerance",
    "check_export_arguments",
    "export_file_name",
    "export_model",
    "export_rows",
    "input_description",
    "litert_interpreter",
    "litert_options",
    "load_export_images",
    "load_exported",
    "ms_per_image",
    "preprocessing_affine",
    "runtime_missing",
    "verify_export",
    "with_preprocessing",
    "write_export",
    "write_metadata",
]
