# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Export a ConvMLP backbone, detector or segmentor to ONNX.

MMDeploy 1.3 does not work with this stack (its wheel ships no deploy
configs and it calls ``torch.onnx.export`` without ``dynamo=False``, while
torch 2.13 defaults to the dynamo exporter), so the export is done here with
the TorchScript exporter: the backbone as it is, a whole model up to its raw
head outputs (``model(inputs, mode='tensor')``). What MMDetection and
MMSegmentation do after the network (NMS, box decoding, resizing, argmax) is
redone in numpy by :mod:`mmconvmlp.deployment.postprocess`, from settings
stored in the ONNX file's metadata (:func:`read_metadata`).

The network's input is the pre-processed image batch (normalised and padded
as the model's data preprocessor does; :func:`~mmconvmlp.deployment.
postprocess.preprocess` does it in numpy).
"""
import contextlib
import json
import types
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The ONNX opset of the exports (LayerNormalization is an ONNX op from 17).
OPSET = 17
#: Key of the JSON metadata in the ONNX file's ``metadata_props``.
METADATA_KEY = 'mmconvmlp'
#: What :func:`export_onnx` exports.
KINDS = ('backbone', 'detector', 'segmentor')
INPUT_NAME = 'input'


class TensorMode(nn.Module):
    """A detector or segmentor up to its raw head outputs, with flat outputs.

    ``model(inputs, mode='tensor')``: RetinaNet-like detectors return
    ``(cls_scores, bbox_preds)``, one (N, A * C, H_l, W_l) and one
    (N, A * 4, H_l, W_l) map per level, flattened here to ``cls_scores``
    then ``bbox_preds``; segmentors return the decode head's (N, C, h, w)
    logits.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.model(inputs, mode='tensor')
        if isinstance(out, torch.Tensor):
            return (out, )
        return tuple(t for group in out for t in group)


def _scaled_upsample(self, x: torch.Tensor) -> torch.Tensor:
    # MMSegmentation's Upsample: size int(t * scale_factor), coordinates
    # scaled by input / output size. recompute_scale_factor=True is the same
    # function and keeps the size an expression of the input's in a trace.
    return F.interpolate(
        x,
        scale_factor=self.scale_factor,
        mode=self.mode,
        align_corners=self.align_corners,
        recompute_scale_factor=True)


@contextlib.contextmanager
def traceable_sizes(model: nn.Module) -> Iterator[int]:
    """Make the modules of ``model`` that compute sizes in Python traceable.

    MMSegmentation's ``Upsample`` (the scale heads of Semantic FPN) turns
    the input's size into Python ints, which a trace records as constants:
    an export with dynamic axes would then upsample to the example's sizes
    and give wrong maps at other sizes (the head resizes them back to the
    right shape, so nothing fails). Inside the context such modules use the
    same interpolation written with ``recompute_scale_factor=True``.

    Yields:
        int: How many modules were patched.
    """
    patched = []
    try:
        from mmseg.models.utils import Upsample
    except ImportError:  # no MMSegmentation, no such module
        Upsample = ()
    for m in model.modules():
        if isinstance(m, Upsample) and not m.size and m.scale_factor:
            m.forward = types.MethodType(_scaled_upsample, m)
            patched.append(m)
    try:
        yield len(patched)
    finally:
        for m in patched:
            del m.forward


def _benign(w: warnings.WarningMessage) -> bool:
    # F.interpolate(recompute_scale_factor=True) makes its scale factor a
    # tensor, a constant of the graph as intended (see traceable_sizes).
    return (w.filename.replace('\\', '/').endswith('torch/nn/functional.py')
            and str(w.message).startswith('torch.tensor results are '
                                          'registered as constants'))


def output_names(kind: str, model: nn.Module) -> List[str]:
    """Names of the exported outputs.

    Args:
        kind (str): One of :data:`KINDS`.
        model (nn.Module): The backbone (``out_indices``), the detector
            (levels of its prior generator) or the segmentor.

    Returns:
        list[str]: ``feat_<i>`` per backbone output; ``cls_score_<l>`` then
        ``bbox_pred_<l>`` per detector level; ``seg_logits``.
    """
    if kind == 'backbone':
        return [f'feat_{i}' for i in range(len(model.out_indices))]
    if kind == 'detector':
        levels = model.bbox_head.prior_generator.num_levels
        return ([f'cls_score_{i}' for i in range(levels)] +
                [f'bbox_pred_{i}' for i in range(levels)])
    if kind == 'segmentor':
        return ['seg_logits']
    raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')


def kind_settings(kind: str, model: nn.Module) -> dict:
    """The post-processing settings of ``kind`` (empty for a backbone).

    Raises:
        NotImplementedError: A model whose post-processing is not redone in
            numpy (see :mod:`mmconvmlp.deployment.postprocess`).
    """
    from .postprocess import detector_settings, segmentor_settings
    if kind == 'detector':
        return detector_settings(model)
    if kind == 'segmentor':
        return segmentor_settings(model)
    return {}


def export_onnx(model: nn.Module,
                path: str,
                kind: str,
                shape: Tuple[int, int],
                batch: int = 1,
                dynamic: bool = True,
                metadata: Optional[dict] = None) -> dict:
    """Export ``model`` in eval mode to an ONNX file.

    TorchScript exporter (``dynamo=False``), opset :data:`OPSET`, float32.
    With ``dynamic``, batch, height and width of the input (and of every
    output) are symbolic, so one file serves every size; the channel MLPs
    are traced on their 1x1-convolution route, which does not depend on the
    size (see :class:`mmconvmlp.models.backbones.convmlp.ChannelMLP`).

    Args:
        model (nn.Module): A ConvMLP (``kind='backbone'``), an MMDetection
            single-stage anchor-head detector (``'detector'``) or an
            MMSegmentation ``EncoderDecoder`` (``'segmentor'``). It is put in
            eval mode and left there.
        path (str): The ``.onnx`` file to write.
        kind (str): One of :data:`KINDS`.
        shape (tuple[int, int]): (H, W) of the example input.
        batch (int): Images in the example input. Defaults to 1.
        dynamic (bool): Symbolic batch, height and width. Defaults to True.
        metadata (dict, optional): More JSON-serialisable entries for the
            stored metadata (e.g. the pre-processing).

    Returns:
        dict: The metadata stored in the file under :data:`METADATA_KEY`:
        ``kind``, ``input``, ``outputs``, ``dynamic``, ``shape``, ``opset``,
        ``settings`` (post-processing, :func:`kind_settings`) and the
        entries of ``metadata``; plus, not stored, ``tracer_warnings``: the
        ``TracerWarning`` messages of the export (each a Python value
        computed from a tensor, frozen into the graph: with ``dynamic``,
        check such an export at a second size).

    Raises:
        ValueError: An unknown ``kind``.
        NotImplementedError: See :func:`kind_settings`.
    """
    import onnx
    names = output_names(kind, model)
    meta = dict(
        kind=kind,
        input=INPUT_NAME,
        outputs=names,
        dynamic=dynamic,
        shape=list(shape),
        opset=OPSET,
        settings=kind_settings(kind, model),
        **(metadata or {}))
    # A fresh wrapper is in training mode, which torch.onnx.export restores
    # (recursively) after tracing: put it in eval mode too.
    net = (model if kind == 'backbone' else TensorMode(model)).eval()
    x = torch.randn(
        batch, 3, *shape, generator=torch.Generator().manual_seed(0))
    axes = None
    if dynamic:
        axes = {INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({n: {0: 'batch', 2: f'{n}_h', 3: f'{n}_w'} for n in names})
    with torch.no_grad(), traceable_sizes(model), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', torch.jit.TracerWarning)
        # The TorchScript exporter announces its deprecation on every call.
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=FutureWarning)
        torch.onnx.export(
            net, (x, ),
            path,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=axes,
            do_constant_folding=True)
    proto = onnx.load(path)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    onnx.save(proto, path)
    tracer = sorted({
        f'{w.filename}:{w.lineno}: {w.message}'
        for w in caught
        if issubclass(w.category, torch.jit.TracerWarning) and not _benign(w)
    })
    for w in caught:  # the others as they would have been shown
        if not issubclass(w.category, torch.jit.TracerWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return dict(meta, tracer_warnings=tracer)


def read_metadata(path: str) -> dict:
    """The metadata :func:`export_onnx` stored in an ONNX file.

    Raises:
        ValueError: The file holds none (not exported by this package).
    """
    import onnx
    proto = onnx.load(path, load_external_data=False)
    for entry in proto.metadata_props:
        if entry.key == METADATA_KEY:
            return json.loads(entry.value)
    raise ValueError(f'{path} has no {METADATA_KEY!r} metadata: not exported '
                     'by mmconvmlp.deployment.export_onnx')


def torch_outputs(model: nn.Module, kind: str,
                  inputs: torch.Tensor) -> List[torch.Tensor]:
    """The outputs the export computes, by the PyTorch model itself, in the
    order of :func:`output_names`."""
    net = model if kind == 'backbone' else TensorMode(model)
    with torch.no_grad():
        return list(net.eval()(inputs))


def named(names: Sequence[str], outputs: Sequence) -> Dict[str, object]:
    """``dict(zip(names, outputs))``, checking the lengths agree."""
    if len(names) != len(outputs):
        raise ValueError(f'{len(outputs)} outputs for {len(names)} names')
    return dict(zip(names, outputs))


__all__ = [
    'OPSET', 'METADATA_KEY', 'KINDS', 'INPUT_NAME', 'TensorMode',
    'traceable_sizes', 'output_names', 'kind_settings', 'export_onnx',
    'read_metadata', 'torch_outputs', 'named'
]
