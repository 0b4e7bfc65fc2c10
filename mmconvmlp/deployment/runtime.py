# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Running an exported model with ONNX Runtime (or OpenVINO), on the CPU.

:class:`OnnxModel` runs a file written by
:func:`mmconvmlp.deployment.export_onnx` and, for a detector or segmentor,
does the whole prediction without torch: pre-processing, the network,
numpy post-processing::

    model = OnnxModel('retinanet.onnx', threads=2)
    det = model.predict(cv2.imread('image.jpg'))   # bboxes, scores, labels

ONNX Runtime and OpenVINO are optional (``pip install mmconvmlp[deploy]``;
OpenVINO separately): they are imported when a model is opened.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .export import read_metadata
from .postprocess import (detector_postprocess, preprocess,
                          segmentor_postprocess)


def ort_session(path: str,
                threads: Optional[int] = None,
                spinning: bool = True):
    """An ONNX Runtime CPU session with a fixed thread count.

    Args:
        path (str): The ``.onnx`` file.
        threads (int, optional): ``intra_op_num_threads`` (one operator's
            threads); None lets ONNX Runtime pick (all physical cores).
            Operators run one after another (``inter_op_num_threads=1``).
        spinning (bool): Idle worker threads spin before they sleep
            (ONNX Runtime's default). Turn it off where something else runs
            between calls on the same cores. Defaults to True.

    Returns:
        onnxruntime.InferenceSession: All graph optimisations on.
    """
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = threads
    if not spinning:
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])


def openvino_model(path: str, threads: Optional[int] = None):
    """An OpenVINO CPU model compiled for latency, with a fixed thread count.

    Args:
        path (str): The ``.onnx`` file (OpenVINO reads ONNX directly).
        threads (int, optional): ``INFERENCE_NUM_THREADS``; None lets
            OpenVINO pick.

    Returns:
        Callable: ``run(inputs: np.ndarray) -> list[np.ndarray]`` (outputs in
        the file's order).
    """
    import openvino as ov
    core = ov.Core()
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32'}
    if threads:
        config['INFERENCE_NUM_THREADS'] = int(threads)
    compiled = core.compile_model(core.read_model(path), 'CPU', config)
    request = compiled.create_infer_request()
    outputs = list(compiled.outputs)

    def run(inputs: np.ndarray) -> List[np.ndarray]:
        result = request.infer([inputs])
        return [np.asarray(result[o]) for o in outputs]

    return run


class OnnxModel:
    """An exported backbone, detector or segmentor on ONNX Runtime.

    Args:
        path (str): A file written by :func:`mmconvmlp.deployment.
            export_onnx` (its metadata says what the model is).
        threads (int, optional): ONNX Runtime's intra-op threads. Defaults
            to None (ONNX Runtime's choice).

    Attributes:
        meta (dict): The file's metadata (:func:`read_metadata`).
        kind (str): ``'backbone'``, ``'detector'`` or ``'segmentor'``.
        session: The ``onnxruntime.InferenceSession``.
    """

    def __init__(self, path: str, threads: Optional[int] = None):
        self.meta = read_metadata(path)
        self.kind = self.meta['kind']
        self.session = ort_session(path, threads)

    def run(self, inputs: np.ndarray) -> Dict[str, np.ndarray]:
        """The raw outputs for a pre-processed batch.

        Args:
            inputs (np.ndarray): (N, 3, H, W) float32, normalised and padded
                as the model's data preprocessor does.

        Returns:
            dict: Output name -> array (see
            :func:`mmconvmlp.deployment.output_names`).
        """
        x = np.ascontiguousarray(inputs, np.float32)
        outs = self.session.run(None, {self.meta['input']: x})
        return dict(zip(self.meta['outputs'], outs))

    def postprocess(self, outputs: Dict[str, np.ndarray],
                    img_metas: Sequence[dict]) -> list:
        """Detections or label maps from raw outputs.

        Args:
            outputs (dict): :meth:`run`'s result.
            img_metas (Sequence[dict]): One per image, as
                :func:`~mmconvmlp.deployment.postprocess.preprocess` returns
                it (``img_shape``, ``scale_factor``, ``ori_shape``,
                ``pad_shape``, ``padding_size``).

        Returns:
            list: Per image, a dict of ``bboxes``, ``scores``, ``labels``
            (detector) or an (H, W) label map (segmentor).

        Raises:
            ValueError: The model is a backbone.
        """
        settings = self.meta['settings']
        if self.kind == 'detector':
            n = len(self.meta['outputs']) // 2
            outs = [outputs[k] for k in self.meta['outputs']]
            return detector_postprocess(outs[:n], outs[n:], settings,
                                        img_metas)
        if self.kind == 'segmentor':
            return segmentor_postprocess(outputs['seg_logits'], settings,
                                         img_metas)
        raise ValueError('a backbone has no post-processing')

    def predict(self,
                image: np.ndarray,
                resize: bool = True) -> Union[dict, np.ndarray]:
        """The prediction for one BGR image, pre-processing included.

        Args:
            image (np.ndarray): (H, W, 3) BGR image.
            resize (bool): Apply the test pipeline's resize. Defaults to
                True.

        Returns:
            dict | np.ndarray: See :meth:`postprocess` (boxes in ``image``'s
            pixels; a label map of ``image``'s size).

        Raises:
            ValueError: The file stores no pre-processing (a backbone).
        """
        if not self.meta.get('preprocess') or self.kind == 'backbone':
            raise ValueError(f'{self.kind} export without pre-processing '
                             'settings: use run() on a prepared batch')
        inputs, meta = preprocess(image, self.meta['preprocess'], resize)
        return self.postprocess(self.run(inputs), [meta])[0]


__all__ = ['ort_session', 'openvino_model', 'OnnxModel']
