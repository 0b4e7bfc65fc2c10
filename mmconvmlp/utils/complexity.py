# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Parameters and multiply-adds of a detector or segmentor, per part.

``tools/analysis_tools/get_flops.py`` is built from these. The model is built
from its config (no weights, no dataset), one synthetic image goes through
its data preprocessor, and MMEngine's ``FlopAnalyzer`` (the counter behind
``get_model_complexity_info``) traces the tensor-mode forward
(``model(inputs, data_samples, mode='tensor')``: backbone, neck and heads,
without post-processing), in eval mode, as at inference.

Units. MMEngine counts one multiply-add as one "flop"; this module calls that
count what it is, MACs (multiply-accumulates), and reports
``GFLOPs = 2 x GMACs``. Parameters are counted in millions (1e6).

What the analyser sees of ConvMLP's fast paths:

- In eval mode each BatchNorm of the stem and the conv stage is folded into
  its convolution's weights on every call (``efficient_conv_bn_eval_forward``)
  and is never called as a module, so the trace holds the convolution only.
  By default the count restores it: the BatchNorm is counted as MMEngine
  counts any eval-mode BatchNorm (2 ops per element, its scale and shift), as
  for an unfolded ``ConvModule``. ``fold_bn=True`` counts the folded network
  as it runs (slightly fewer ops). Training mode would count every BatchNorm
  at 5 ops per element (the batch statistics), which is not inference.
- The channel MLPs run their ``nn.Linear`` layers either as ``F.linear`` or
  as 1x1 convolutions (a CPU trace always takes the convolutions); both are
  the same multiply-adds.
- Operators without a counting rule (max-pool, GELU, additions, MMCV's
  RoIAlign and NMS) count 0, as everywhere in MMEngine; they are listed in
  :attr:`ModelComplexity.uncounted_ops`.
"""
import contextlib
import functools
import types
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from .config import build_model, codebase_of

#: Input (H, W) at which the papers report FLOPs, per code base: 1280x800 for
#: COCO detection (as in mmdet's get_flops), 512x512 for ADE20K.
DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 512)}


@dataclass
class PartComplexity:
    """Parameters and multiply-adds of one child module of the model.

    Attributes:
        name (str): The attribute name (``'backbone'``, ``'neck'``,
            ``'bbox_head'``, ...), or ``'other'`` for counts outside every
            child (none in the OpenMMLab models counted here).
        params (int): Parameters.
        macs (int): Multiply-adds of one forward pass.
    """
    name: str
    params: int
    macs: int


@dataclass
class ModelComplexity:
    """The complexity of one model at one input size.

    Attributes:
        name (str): What is counted (e.g. the config's file name).
        model_type (str): The model's class (``'RetinaNet'``, ...).
        input_shape (tuple[int, int]): (H, W) of the tensor the backbone
            sees, after the data preprocessor's padding.
        params (int): Parameters of the whole model.
        macs (int): Multiply-adds of the whole model.
        parts (list[PartComplexity]): Per child module, in model order.
        ops (dict[str, int]): Multiply-adds per counted operator type
            (``conv``, ``linear``, ``batch_norm``, ...).
        uncounted_ops (dict[str, int]): Traced operators without a counting
            rule (counted as 0), with how often they ran.
        num_rois (int, optional): RoIs the second stage of a two-stage
            detector ran on (its count scales with them); None otherwise.
        fold_bn (bool): Whether folded BatchNorms were left uncounted.
    """
    name: str
    model_type: str
    input_shape: Tuple[int, int]
    params: int
    macs: int
    parts: List[PartComplexity]
    ops: Dict[str, int] = field(default_factory=dict)
    uncounted_ops: Dict[str, int] = field(default_factory=dict)
    num_rois: Optional[int] = None
    fold_bn: bool = False

    @property
    def mparams(self) -> float:
        """Parameters in millions."""
        return self.params / 1e6

    @property
    def gmacs(self) -> float:
        """Multiply-adds in 1e9 (what MMEngine prints as "flops")."""
        return self.macs / 1e9

    @property
    def gflops(self) -> float:
        """Floating-point operations in 1e9: two per multiply-add."""
        return 2 * self.macs / 1e9

    def to_dict(self) -> dict:
        """JSON-ready fields, with ``mparams``, ``gmacs`` and ``gflops``."""
        return dict(
            name=self.name,
            model_type=self.model_type,
            input_shape=list(self.input_shape),
            params=self.params,
            macs=self.macs,
            mparams=self.mparams,
            gmacs=self.gmacs,
            gflops=self.gflops,
            parts=[
                dict(name=p.name, params=p.params, macs=p.macs)
                for p in self.parts
            ],
            ops=dict(self.ops),
            uncounted_ops=dict(self.uncounted_ops),
            num_rois=self.num_rois,
            fold_bn=self.fold_bn)


def synthetic_batch(model: nn.Module, codebase: str,
                    shape: Tuple[int, int]) -> Tuple[torch.Tensor, list]:
    """One random uint8 image of ``shape`` through the model's preprocessor.

    Args:
        model (nn.Module): A detector or segmentor with a
            ``data_preprocessor``.
        codebase (str): ``'mmdet'`` or ``'mmseg'`` (the data sample class).
        shape (tuple[int, int]): Image (H, W) in pixels.

    Returns:
        tuple[Tensor, list]: The normalised, padded batch (1, 3, H', W') and
        its data samples (with ``img_shape``, ``pad_shape``, ...).
    """
    if codebase == 'mmseg':
        from mmseg.structures import SegDataSample as Sample
    else:
        from mmdet.structures import DetDataSample as Sample
    h, w = shape
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
    sample = Sample(
        metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    return data['inputs'], data['data_samples']


@contextlib.contextmanager
def unfolded_batchnorms(model: nn.Module) -> Iterator[int]:
    """Run ConvMLP's conv-BN-ReLU layers unfolded inside the block.

    :class:`mmconvmlp.models.backbones.convmlp.ConvNormAct` folds an
    eval-mode BatchNorm into its conv; here each instance runs MMCV's plain
    ``ConvModule.forward`` instead (conv, then the BatchNorm as a module):
    the same function, with the BatchNorm visible to the analyser.

    Yields:
        int: How many layers were unfolded.
    """
    from mmcv.cnn import ConvModule

    from mmconvmlp.models.backbones.convmlp import ConvNormAct
    layers = [m for m in model.modules() if isinstance(m, ConvNormAct)]
    for m in layers:
        m.forward = types.MethodType(ConvModule.forward, m)
    try:
        yield len(layers)
    finally:
        for m in layers:
            del m.forward  # back to the class's folding forward


@contextlib.contextmanager
def _called_as_modules(model: nn.Module) -> Iterator[None]:
    """Route direct ``child.forward(...)`` calls through ``child(...)``.

    The analyser attributes an operator to a module through the module's
    call hooks; OpenMMLab models call some heads as ``head.forward(x)``
    (mmseg's ``EncoderDecoder``, mmdet's two-stage detectors), which skips
    them, and the head's own operators (e.g. an upsampling) would count
    towards the model instead of the head.
    """
    children = [m for _, m in model.named_children()]

    def route(module):
        original = module.forward
        inside = []

        def forward(*args, **kwargs):
            if inside:  # called by module.__call__: run the real forward
                return original(*args, **kwargs)
            inside.append(True)
            try:
                return module(*args, **kwargs)
            finally:
                inside.pop()

        module.forward = forward

    for child in children:
        route(child)
    try:
        yield
    finally:
        for child in children:
            del child.forward


@contextlib.contextmanager
def _rois_counter(model: nn.Module) -> Iterator[list]:
    """Record the RoIs a two-stage detector's box branch runs on."""
    seen: list = []
    extractor = getattr(
        getattr(model, 'roi_head', None), 'bbox_roi_extractor', None)
    if extractor is None:
        yield seen
        return

    def hook(module, args):
        seen.append(int(args[1].shape[0]))  # (feats, rois)

    handle = extractor.register_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def count_complexity(model: nn.Module,
                     inputs: torch.Tensor,
                     data_samples: Optional[list] = None,
                     name: str = '',
                     fold_bn: bool = False) -> ModelComplexity:
    """Count a model's tensor-mode forward with MMEngine's ``FlopAnalyzer``.

    Args:
        model (nn.Module): An OpenMMLab ``BaseModel`` (its ``forward`` takes
            ``(inputs, data_samples, mode)``); counted in its current mode,
            normally eval.
        inputs (Tensor): Preprocessed batch, shape (N, 3, H, W).
        data_samples (list, optional): The batch's data samples (two-stage
            detectors need their ``img_shape``). Defaults to None.
        name (str): Stored in the result. Defaults to ``''``.
        fold_bn (bool): Count ConvMLP's eval BatchNorms folded, as they run
            (not counted), instead of as unfolded BatchNorms (2 ops per
            element). Defaults to False.

    Returns:
        ModelComplexity: Totals, per child module and per operator.
    """
    from mmengine.analysis import FlopAnalyzer, parameter_count

    forward = functools.partial(
        model.forward, data_samples=data_samples, mode='tensor')
    unfold = contextlib.nullcontext() if fold_bn else unfolded_batchnorms(
        model)
    model.forward = forward  # the analyser calls model(inputs)
    try:
        with unfold, _called_as_modules(model), _rois_counter(model) as rois, \
                torch.no_grad():
            analyzer = FlopAnalyzer(model, (inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            total = analyzer.total()
            by_module = analyzer.by_module()
            ops = dict(analyzer.by_operator())
            uncounted = dict(analyzer.unsupported_ops())
    finally:
        del model.forward
    params = parameter_count(model)
    parts = [
        PartComplexity(child, params.get(child, 0), by_module.get(child, 0))
        for child, _ in model.named_children()
    ]
    parts = [p for p in parts if p.params or p.macs]
    rest = total - sum(p.macs for p in parts)
    rest_params = params[''] - sum(p.params for p in parts)
    if rest or rest_params:
        parts.append(PartComplexity('other', rest_params, rest))
    return ModelComplexity(
        name=name,
        model_type=type(model).__name__,
        input_shape=tuple(int(s) for s in inputs.shape[-2:]),
        params=params[''],
        macs=total,
        parts=parts,
        ops=ops,
        uncounted_ops=uncounted,
        num_rois=rois[0] if rois else None,
        fold_bn=fold_bn)


def config_complexity(cfg: Config,
                      shape: Optional[Sequence[int]] = None,
                      name: str = '',
                      fold_bn: bool = False) -> ModelComplexity:
    """Build the model of a config and count it on a synthetic image.

    Needs no dataset and no checkpoint. The random weights make no
    difference, except to the number of proposals a two-stage detector's RPN
    keeps after NMS (seeded; see :attr:`ModelComplexity.num_rois`).

    Args:
        cfg (Config): An MMDetection or MMSegmentation config.
        shape (Sequence[int], optional): Image (H, W), or one int for a
            square. Defaults to :data:`DEFAULT_SHAPES` of the code base
            (800x1280 for MMDetection, 512x512 for MMSegmentation).
        name (str): Stored in the result. Defaults to ``''``.
        fold_bn (bool): See :func:`count_complexity`. Defaults to False.

    Returns:
        ModelComplexity: The counts.

    Raises:
        ValueError: The config's ``default_scope`` is neither ``'mmdet'`` nor
            ``'mmseg'``, or ``shape`` is not one or two ints >= 1.
    """
    codebase = codebase_of(cfg)
    if codebase is None:
        raise ValueError('the config must have default_scope mmdet or mmseg, '
                         f'got {cfg.get("default_scope")!r}')
    shape = DEFAULT_SHAPES[codebase] if shape is None else tuple(shape)
    if len(shape) == 1:
        shape = (shape[0], shape[0])
    if len(shape) != 2 or not all(
            isinstance(s, int) and s >= 1 for s in shape):
        raise ValueError(f'shape must be (H, W) in pixels, got {shape}')
    torch.manual_seed(0)  # the RPN's proposals depend on the weights
    model = build_model(cfg).eval()  # no weights loaded: no download
    inputs, data_samples = synthetic_batch(model, codebase, shape)
    return count_complexity(
        model, inputs, data_samples, name=name, fold_bn=fold_bn)


def format_complexity(result: ModelComplexity) -> str:
    """A text table of one result: every part, then the total.

    Returns:
        str: Lines ``part  params (M)  GMACs  GFLOPs``.
    """
    h, w = result.input_shape
    head = (f'{result.name or result.model_type} ({result.model_type}), '
            f'input 1x3x{h}x{w}')
    if result.num_rois is not None:
        head += f', {result.num_rois} RoIs'
    if result.fold_bn:
        head += ', folded BatchNorms not counted'
    rows = [(p.name, p.params, p.macs) for p in result.parts]
    rows.append(('total', result.params, result.macs))
    width = max(len(r[0]) for r in rows)
    lines = [
        head, f'  {"part":<{width}}  {"params (M)":>10}  {"GMACs":>9}  '
        f'{"GFLOPs":>9}'
    ]
    for part, params, macs in rows:
        lines.append(f'  {part:<{width}}  {params / 1e6:>10.2f}  '
                     f'{macs / 1e9:>9.2f}  {2 * macs / 1e9:>9.2f}')
    if result.uncounted_ops:
        ops = ', '.join(f'{k.replace("aten::", "")} x{v}'
                        for k, v in sorted(result.uncounted_ops.items()))
        lines.append(f'  not counted (no rule in MMEngine): {ops}')
    return '\n'.join(lines)


def markdown_table(results: Sequence[ModelComplexity]) -> str:
    """A Markdown table with one row per result.

    Args:
        results (Sequence[ModelComplexity]): Counted models.

    Returns:
        str: The table: name, input, parameters, GMACs and GFLOPs of the
        whole model, then the parameters and GMACs of each part (backbone,
        neck, heads; ``-`` where a model has no such part).
    """
    names = list(dict.fromkeys(p.name for r in results for p in r.parts))
    head = ['model', 'input (HxW)', 'params (M)', 'GMACs', 'GFLOPs']
    head += [f'{n} params (M) / GMACs' for n in names]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in results:
        parts = {p.name: p for p in r.parts}
        row = [
            f'`{r.name}`', f'{r.input_shape[0]}x{r.input_shape[1]}',
            f'{r.mparams:.2f}', f'{r.gmacs:.1f}', f'{r.gflops:.1f}'
        ]
        row += [
            f'{parts[n].params / 1e6:.2f} / {parts[n].macs / 1e9:.1f}'
            if n in parts else '-' for n in names
        ]
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)
