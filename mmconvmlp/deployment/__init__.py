# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Deployment: ONNX export, ONNX Runtime / OpenVINO runners, numpy
pre- and post-processing, parity checks (docs/deployment.md).

``onnx`` and ``onnxruntime`` (``pip install mmconvmlp[deploy]``) and
``openvino`` are imported only by the functions that need them.
"""
from .export import (INPUT_NAME, KINDS, METADATA_KEY, OPSET, TensorMode,
                     export_onnx, output_names, read_metadata, torch_outputs,
                     traceable_sizes)
from .postprocess import (batched_nms, decode_boxes, detector_postprocess,
                          detector_settings, grid_anchors, nms, preprocess,
                          preprocessor_settings, resize_bilinear,
                          segmentor_postprocess, segmentor_settings)
from .runtime import OnnxModel, openvino_model, ort_session
from .verify import (compare_detections, compare_label_maps, compare_outputs,
                     random_input, report_lines, torch_predictions,
                     verify_export)

__all__ = [
    'INPUT_NAME', 'KINDS', 'METADATA_KEY', 'OPSET', 'TensorMode',
    'export_onnx', 'output_names', 'read_metadata', 'torch_outputs',
    'traceable_sizes', 'batched_nms', 'decode_boxes', 'detector_postprocess',
    'detector_settings', 'grid_anchors', 'nms', 'preprocess',
    'preprocessor_settings', 'resize_bilinear', 'segmentor_postprocess',
    'segmentor_settings', 'OnnxModel', 'openvino_model', 'ort_session',
    'compare_detections', 'compare_label_maps', 'compare_outputs',
    'random_input', 'report_lines', 'torch_predictions', 'verify_export'
]
