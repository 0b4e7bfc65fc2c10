# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""From a config and a checkpoint to a verified ONNX file: what
``tools/deployment/pytorch2onnx.py`` runs."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmconvmlp.utils.checks import ToolError, check_file
from mmconvmlp.utils.config import build_model, codebase_of

#: ``--what`` of the tool: the backbone alone, or the whole model.
WHATS = ('backbone', 'model')
#: Default export sizes (H, W): COCO's 1333x800 resize padded to 32, and the
#: ADE20K crop.
DEFAULT_SHAPES = {'mmdet': (800, 1216), 'mmseg': (512, 512)}


def export_kind(cfg, what: str) -> str:
    """``'backbone'``, ``'detector'`` or ``'segmentor'``.

    Raises:
        ToolError: A whole model of a config that is neither MMDetection's
            nor MMSegmentation's, or an unknown ``what``.
    """
    if what not in WHATS:
        raise ToolError(f'--what must be one of {WHATS}, got {what!r}')
    if what == 'backbone':
        return 'backbone'
    kinds = {'mmdet': 'detector', 'mmseg': 'segmentor'}
    scope = codebase_of(cfg)
    if scope not in kinds:
        raise ToolError(f'default_scope must be mmdet or mmseg to export a '
                        f'whole model, got {cfg.get("default_scope")!r}')
    return kinds[scope]


def _state_dict(checkpoint: str) -> dict:
    from mmengine.runner import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise ToolError(f'{checkpoint} holds no state dict')
    return {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def load_model(cfg, checkpoint: str, what: str = 'model'):
    """Build the config's model and load a checkpoint into it, strictly.

    Nothing is downloaded (the backbone's ``init_cfg`` and the model's
    ``pretrained`` are dropped; the checkpoint gives every weight).

    Args:
        cfg (mmengine.Config): An MMDetection or MMSegmentation config.
        checkpoint (str): A whole-model checkpoint (``tools/train.py``'s);
            with ``what='backbone'`` also a backbone checkpoint (ImageNet, in
            the original ConvMLP layout or this project's).
        what (str): ``'model'`` or ``'backbone'``.

    Returns:
        tuple: (the module to export, in eval mode; the whole model; the
        kind for :func:`mmconvmlp.deployment.export_onnx`).

    Raises:
        ToolError: The checkpoint is missing or does not fit the model
            (missing, unexpected or wrongly shaped weights).
    """
    kind = export_kind(cfg, what)
    check_file(checkpoint, 'checkpoint')
    cfg.model.backbone.init_cfg = None
    if 'pretrained' in cfg.model:
        cfg.model.pretrained = None
    model = build_model(cfg)
    state = _state_dict(checkpoint)
    try:
        if what == 'backbone' and not any(
                k.startswith('backbone.') for k in state):
            from mmconvmlp.models.utils import convert_convmlp_checkpoint
            model.backbone.load_state_dict(convert_convmlp_checkpoint(state))
        else:
            model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as e:
        raise ToolError(f'{checkpoint} does not fit the model of the config:'
                        f'\n{str(e)[:2000]}')
    model.eval()
    return (model.backbone if what == 'backbone' else model), model, kind


def read_image(path: str) -> np.ndarray:
    """A BGR image (``cv2.imread``).

    Raises:
        ToolError: The file cannot be read as an image.
    """
    import cv2
    img = cv2.imread(path)
    if img is None:
        raise ToolError(f'cannot read the image {path}')
    return img


def verify_batches(
    shape: Tuple[int, int],
    dynamic: bool,
    second: Optional[Sequence[int]] = None,
    first: Optional[Tuple[np.ndarray, List[dict]]] = None
) -> List[Tuple[np.ndarray, List[dict]]]:
    """The inputs ``--verify`` checks.

    Args:
        shape (tuple[int, int]): The export size (H, W).
        dynamic (bool): Whether the export has dynamic axes.
        second (Sequence[int], optional): The second size of a dynamic
            export. Defaults to ``shape`` transposed (32 pixels taller when
            square).
        first (tuple, optional): The first batch and its metas (e.g. a
            pre-processed image). Defaults to a random batch at ``shape``
            (:func:`mmconvmlp.deployment.random_input`).

    Returns:
        list[tuple]: ``(inputs, img_metas)`` pairs.
    """
    from .verify import random_input
    batches = [first or random_input(shape)]
    if dynamic:
        h, w = shape
        second = tuple(second) if second else ((w, h) if h != w else
                                               (h + 32, w))
        batches.append(random_input(second, seed=1))
    return batches


def pytorch2onnx(config: str,
                 checkpoint: str,
                 out: Optional[str] = None,
                 shape: Optional[Sequence[int]] = None,
                 what: str = 'model',
                 dynamic: bool = False,
                 verify: bool = False,
                 verify_shape: Optional[Sequence[int]] = None,
                 image: Optional[str] = None,
                 threads: Optional[int] = None,
                 cfg_options: Optional[dict] = None,
                 tol: float = 1e-4,
                 log=print) -> dict:
    """Export a config's model (or backbone) with its checkpoint, and check
    the export on ONNX Runtime.

    Args:
        config (str): MMDetection / MMSegmentation config file.
        checkpoint (str): See :func:`load_model`.
        out (str, optional): The ``.onnx`` file. Defaults to
            ``work_dirs/<config name>/<config name>_<what>.onnx``.
        shape (Sequence[int], optional): (H, W) of the export. Defaults to
            the pre-processed ``image``'s size, else :data:`DEFAULT_SHAPES`.
        what (str): ``'model'`` (up to the raw head outputs) or
            ``'backbone'``. Defaults to ``'model'``.
        dynamic (bool): Symbolic batch, height and width. Defaults to False.
        verify (bool): Compare with PyTorch (:func:`mmconvmlp.deployment.
            verify_export`) at the export size and, with ``dynamic``, a
            second size. Defaults to False.
        verify_shape (Sequence[int], optional): The second size.
        image (str, optional): An image to verify with (pre-processed as the
            config's test pipeline and data preprocessor do) instead of a
            random one.
        threads (int, optional): ONNX Runtime's and torch's threads.
        cfg_options (dict, optional): Merged into the config first (e.g.
            ``model.test_cfg.score_thr``).
        tol (float): See :func:`mmconvmlp.deployment.compare_outputs`.
        log (Callable[[str], None]): Receives the progress and report lines.

    Returns:
        dict: ``path``, ``meta`` (:func:`mmconvmlp.deployment.export_onnx`)
        and, with ``verify``, ``report`` (:func:`mmconvmlp.deployment.
        verify_export`).

    Raises:
        ToolError: A problem the user can fix (files, sizes, a model whose
            post-processing is not redone in numpy, a failed verification).
    """
    from mmengine.config import Config

    import mmconvmlp.models  # noqa: F401  (registers mmconvmlp.ConvMLP)
    from .export import export_onnx
    from .postprocess import preprocess, preprocessor_settings
    from .verify import report_lines, verify_export
    check_file(config, 'config')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if threads:
        torch.set_num_threads(threads)
    settings = preprocessor_settings(cfg)
    first = None
    if image is not None:
        x, meta = preprocess(read_image(image), settings)
        first = (x, [meta])
        shape = shape or x.shape[2:]
    shape = tuple(shape or DEFAULT_SHAPES.get(codebase_of(cfg), (512, 512)))
    if len(shape) != 2 or min(shape) < 32:
        raise ToolError(f'--shape takes H W of at least 32, got {shape}')
    net, _, kind = load_model(cfg, checkpoint, what)
    name = osp.splitext(osp.basename(config))[0]
    out = out or osp.join('work_dirs', name, f'{name}_{what}.onnx')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    log(f'exporting the {kind} of {config} at {shape[0]}x{shape[1]}'
        f'{" (dynamic batch, height, width)" if dynamic else ""} to {out}')
    try:
        meta = export_onnx(
            net,
            out,
            kind,
            shape,
            dynamic=dynamic,
            metadata=dict(preprocess=settings, config=osp.basename(config)))
    except NotImplementedError as e:
        raise ToolError(str(e))
    for w in meta['tracer_warnings']:
        log(f'TracerWarning (a value frozen into the graph): {w}')
    result = dict(path=out, meta=meta)
    if verify:
        batches = verify_batches(shape, dynamic, verify_shape, first)
        if not dynamic and tuple(batches[0][0].shape[2:]) != shape:
            raise ToolError(f'the image is {batches[0][0].shape[2:]} after '
                            f'pre-processing, the static export {shape}: '
                            'give --dynamic or a matching --shape')
        report = verify_export(net, kind, out, batches, threads, tol)
        for line in report_lines(report):
            log(line)
        result['report'] = report
        if not report['ok']:
            raise ToolError(f'the export {out} does not match PyTorch')
    return result


__all__ = [
    'WHATS', 'DEFAULT_SHAPES', 'export_kind', 'load_model', 'read_image',
    'verify_batches', 'pytorch2onnx'
]
