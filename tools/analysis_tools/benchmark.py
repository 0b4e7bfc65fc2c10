#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""CPU benchmark of ConvMLP against ResNet-50 and Swin-T.

    python tools/analysis_tools/benchmark.py [--json] [--quick]
        [--only {backbones,models,memory} ...] [--sizes HxW ...]
        [--batch N ...]
        [--repeats N] [--warmup N] [--threads N] [--dtypes {fp32,bf16} ...]
        [--backbones NAME ...] [--compile] [--config PATH ...]
        [--model-arch {s,m,l}] [--det-size HxW] [--seg-size HxW]
        [--model-batch N] [--gemm-sizes N ...]
        [--runtimes {eager,compile,onnxruntime,openvino} ...]
        [--runtime-backbones NAME ...]

Everything runs in one process (peak memory: a fresh process per
configuration) at a fixed thread count. Every configuration of a section is
built and warmed up first; then the repeats run interleaved (1, 2, ..., n,
then n, ..., 1), so that a drift of the machine's speed slows all of them
alike, and each number is the median of its repeats.

Sections:

- ``backbones``: ConvMLP-S/M/L, MMDetection's ResNet-50 and Swin-T, forward
  pass at each size, batch 1 and a larger batch, fp32 and bf16 autocast:
  GMACs, latency, images/s, GFLOP/s, the fraction of the GEMM peak timed in
  the same loop, the ratio to ResNet-50 and the cosine similarity of the bf16
  outputs to the fp32 ones.
- ``models``: RetinaNet and Semantic FPN built from MMDetection's and
  MMSegmentation's own configs, with their ResNet-50 and with ConvMLP
  swapped in (``mmconvmlp.utils.swap_backbone``), or the configs given with
  ``--config``: inference (``test_step``) and one training step
  (``train_step`` with AdamW), fp32 and bf16.
- ``memory``: the peak resident memory of one training step of the first
  ConvMLP whole model with and without ``with_cp``.
- ``runtimes`` (only when asked: ``--only runtimes`` or ``--runtimes``): one
  backbone (ConvMLP-S) at each size, batch 1, fp32, on eager PyTorch,
  ``torch.compile``, ONNX Runtime and OpenVINO (those installed), with the
  ratio to eager and the outputs' largest difference from eager's.

The header names the CPU, its ISA and whether bfloat16 is native; on a CPU
without native bfloat16 the bf16 rows are marked emulated (``--quick`` leaves
them out). Tables (Markdown) or JSON (``--json``) go to stdout, progress to
stderr. See docs/benchmark.md.
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch
import torch.nn as nn

# yapf: disable
from mmconvmlp.utils.benchmark import (DTYPES, RUNTIMES, OtherLoad, TimedRun,
                                       autocast, bf16_cosine_similarity,
                                       compile_for_inference, count_gmacs,
                                       gemm_peak, gemm_rows, gemm_runs,
                                       machine_info, measure_interleaved,
                                       missing_runtimes, peak_rss_of_step,
                                       runtime_rows, runtime_runs, timed)
# yapf: enable
from mmconvmlp.utils.cpu import EMULATED_BF16_SLOWDOWN

BACKBONES = ('convmlp-s', 'convmlp-m', 'convmlp-l', 'resnet50', 'resnet50-cl',
             'swin-t')
REFERENCE = 'resnet50'  # the denominator of every backbone ratio
COMPILED = '+compile'  # suffix of a backbone run through torch.compile
SECTIONS = ('backbones', 'models', 'memory', 'runtimes')
# The sections that run without --only (runtimes only when asked).
DEFAULT_SECTIONS = ('backbones', 'models', 'memory')
DETECTION_SIZE = (800, 1216)  # (H, W) of COCO's 1333x800 resize, padded

# The stock configs the whole models come from, shipped in the installed
# packages, and the short names of the models built from them.
STOCK_CONFIGS = {
    'mmdet': ('retinanet', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
    'mmseg': ('fpn', 'sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'),
}
# The submodules that bf16 inference autocasts: MMCV's compiled CPU ops (NMS)
# take float32 only, so post-processing stays float32.
AUTOCAST_MODULES = {
    'mmdet': ('backbone', 'neck', 'bbox_head'),
    'mmseg': ('backbone', 'neck', 'decode_head', 'auxiliary_head'),
}
CONVMLP_TYPES = ('mmconvmlp.ConvMLP', 'ConvMLP')


def log(msg: str) -> None:
    """Print a progress line to stderr (stdout carries the tables or JSON)."""
    print(
        f'[benchmark {time.strftime("%H:%M:%S")}] {msg}',
        file=sys.stderr,
        flush=True)


def _fmt(v, spec: str = '.3f', none: str = '-') -> str:
    return none if v is None else format(v, spec)


def _hw(size: Sequence[int]) -> str:
    return 'x'.join(map(str, size))


def _ratio(t: float, ref: Optional[float]) -> Optional[float]:
    return t / ref if ref else None


def default_repeats(size: Tuple[int, int]) -> int:
    """5 repeats for images of up to 300,000 pixels (224x224), else 3."""
    return 5 if size[0] * size[1] <= 300_000 else 3


# ----------------------------------------------------------------- backbones
def build_backbone(name: str) -> nn.Module:
    """Build a backbone in eval mode, randomly initialised.

    Args:
        name (str): One of ``BACKBONES``: ``'convmlp-s'``, ``'convmlp-m'``,
            ``'convmlp-l'``, ``'resnet50'`` (MMDetection's
            ``ResNet(depth=50)``), ``'resnet50-cl'`` (the same, fed
            channels-last images as ConvMLP feeds its convolutions) or
            ``'swin-t'`` (MMDetection's ``SwinTransformer`` defaults).

    Returns:
        nn.Module: The backbone; it returns 4 feature maps.

    Raises:
        ValueError: An unknown name.
    """
    if name.startswith('convmlp-'):
        from mmconvmlp.models import ConvMLP
        model = ConvMLP(arch=name[-1])
    elif name in ('resnet50', 'resnet50-cl'):
        from mmdet.models.backbones import ResNet
        model = ResNet(depth=50)
    elif name == 'swin-t':
        from mmdet.models.backbones import SwinTransformer
        model = SwinTransformer()
    else:
        raise ValueError(f'unknown backbone {name!r}; choose from {BACKBONES}')
    model.init_weights()
    model.eval()  # mmdet's train() returns None: do not chain
    return model


def base_name(name: str) -> str:
    """The network behind a name (``'convmlp-s+compile'``: convmlp-s)."""
    return name[:-len(COMPILED)] if name.endswith(COMPILED) else name


def reference_of(name: str) -> str:
    """The ratio reference: ResNet-50, compiled when ``name`` is."""
    return REFERENCE + COMPILED if name.endswith(COMPILED) else REFERENCE


def backbone_input(name: str, batch: int, size: Tuple[int,
                                                      int]) -> torch.Tensor:
    """A random (batch, 3, H, W) image batch, channels-last for resnet50-cl."""
    x = torch.randn(
        batch, 3, *size, generator=torch.Generator().manual_seed(batch))
    if base_name(name) == 'resnet50-cl':
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def backbone_runs(models: Dict[str, nn.Module], size: Tuple[int, int],
                  batches: Sequence[int],
                  dtypes: Sequence[str]) -> List[TimedRun]:
    """Forward passes of every backbone x batch x dtype at one size."""
    runs = []
    for batch in batches:
        for name, model in models.items():
            x = backbone_input(name, batch, size)
            for dtype in dtypes:

                def fwd(model=model, x=x, dtype=dtype):
                    with torch.inference_mode(), autocast(dtype):
                        model(x)

                runs.append(
                    TimedRun(
                        dict(
                            model=name,
                            size=list(size),
                            batch=batch,
                            dtype=dtype), timed(fwd)))
    return runs


def backbone_rows(runs: Sequence[TimedRun], gmacs: Dict[str, float],
                  cos: Dict[str, float], peak: Dict[str, dict],
                  bf16_native: bool) -> List[dict]:
    """Result rows of timed :func:`backbone_runs` at one size.

    Args:
        runs (Sequence[TimedRun]): Timed runs, all at one size.
        gmacs (dict): GMACs of one image per backbone name (or None).
        cos (dict): Cosine similarity bf16/fp32 per backbone name.
        peak (dict): :func:`gemm_peak` of the same loop.
        bf16_native (bool): Whether bf16 runs in hardware here.

    Returns:
        list[dict]: See :func:`run_backbones`.
    """
    by_key = {
        (r.key['model'], r.key['batch'], r.key['dtype']): r.median
        for r in runs
    }
    rows = []
    for item in runs:
        k, t = item.key, item.median
        batch, dtype = k['batch'], k['dtype']
        macs = gmacs.get(k['model'])
        macs = macs * batch if macs is not None else None
        gflops = 2 * macs / t if macs is not None else None
        p = peak.get(dtype, {}).get('gflops')
        ref = reference_of(k['model'])
        rows.append(
            dict(
                k,
                gmacs=macs,
                latency_s=t,
                times_s=item.times,
                min_s=min(item.times),
                throughput_img_s=batch / t,
                gflops=gflops,
                gemm_peak_gflops=p,
                peak_fraction=gflops / p if gflops is not None and p else None,
                ratio_resnet50=_ratio(t, by_key.get((ref, batch, dtype))),
                ratio_resnet50_fp32=_ratio(t, by_key.get(
                    (ref, batch, 'fp32'))),
                cos_sim_fp32=cos.get(k['model']) if dtype == 'bf16' else None,
                bf16_native=bf16_native if dtype == 'bf16' else None))
    return rows


def run_backbones(names: Sequence[str],
                  sizes: Sequence[Tuple[int, int]],
                  batches: Sequence[int],
                  dtypes: Sequence[str],
                  repeats: Sequence[int],
                  warmup: int,
                  gemm_sizes: Sequence[int],
                  bf16_native: bool = True) -> dict:
    """The ``backbones`` section: one interleaved loop per image size, with
    the GEMMs of the peak measurement in the same loop.

    Args:
        names (Sequence[str]): Backbones (:func:`build_backbone`), each
            optionally with the suffix ``'+compile'`` (its ratios are then to
            ``'resnet50+compile'``). The ratios need ``'resnet50'``.
        sizes (Sequence[tuple[int, int]]): Image sizes (H, W).
        batches (Sequence[int]): The larger batch for each size (batch 1
            always runs; a value <= 1 runs batch 1 only).
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'`` (autocast).
        repeats (Sequence[int]): Timed repeats for each size.
        warmup (int): Untimed runs of each configuration.
        gemm_sizes (Sequence[int]): Square GEMM sizes of the peak.
        bf16_native (bool): Stored in the bf16 rows. Defaults to True.

    Returns:
        dict: ``rows``, one per backbone, size, batch and dtype: ``gmacs``
        (for the batch), ``latency_s`` (median), ``times_s``, ``min_s``,
        ``throughput_img_s`` (batch / latency), ``gflops`` (2 x gmacs /
        latency), ``gemm_peak_gflops`` and ``peak_fraction`` (gflops / the
        best GEMM of the dtype in the same loop), ``ratio_resnet50``
        (latency / ResNet-50's at the same size, batch and dtype),
        ``ratio_resnet50_fp32`` (/ ResNet-50's fp32 latency),
        ``cos_sim_fp32`` and ``bf16_native`` (bf16 rows; None on fp32 rows);
        ``gemm`` (the GEMM rows, with ``size``) and ``gemm_peak``
        (``{'HxW': {dtype: best}}``).
    """
    eager, models = {}, {}
    for name in names:
        base = base_name(name)
        if base not in eager:
            log(f'building {base}')
            eager[base] = build_backbone(base)
        models[name] = (
            eager[base]
            if name == base else compile_for_inference(eager[base]))
    rows, grows, peaks = [], [], {}
    for size, batch, reps in zip(sizes, batches, repeats):
        label = f'backbones {_hw(size)}'
        gmacs, cos = {}, {}
        for name, model in models.items():
            x = backbone_input(name, 1, size)
            # Counted on the eager module: a compiled twin is the same
            # network, and MMEngine's counter cannot trace it.
            base = base_name(name)
            if base not in gmacs:
                gmacs[base] = count_gmacs(eager[base], (x, ))
            gmacs[name] = gmacs[base]
            if 'bf16' in dtypes and 'fp32' in dtypes:
                cos[name] = bf16_cosine_similarity(model, x)
            log(f'{label}: {name} {_fmt(gmacs[name], ".2f")} GMACs, cosine '
                f'similarity bf16/fp32 {_fmt(cos.get(name), ".5f")}')
        runs = backbone_runs(models, size, sorted({1, max(batch, 1)}), dtypes)
        gruns = gemm_runs(gemm_sizes, dtypes)
        measure_interleaved(gruns + runs, warmup, reps, log, label)
        g = [
            dict(
                r,
                size=list(size),
                bf16_native=bf16_native if r['dtype'] == 'bf16' else None)
            for r in gemm_rows(gruns)
        ]
        peak = gemm_peak(g)
        grows += g
        peaks[_hw(size)] = peak
        rows += backbone_rows(runs, gmacs, cos, peak, bf16_native)
    return dict(rows=rows, gemm=grows, gemm_peak=peaks)


def ratio_figures(rows: Sequence[dict]) -> List[dict]:
    """ConvMLP-S fp32 latency / ResNet-50 fp32 latency, batch 1, per size.

    Both measured in the same run and loop; also for the compiled twins.

    Args:
        rows (Sequence[dict]): Backbone rows (:func:`run_backbones`).

    Returns:
        list[dict]: ``name``, ``size`` ('HxW'), ``batch`` (1), ``value``,
        ``latency_s`` (ConvMLP-S's) and ``reference_s`` (ResNet-50's), one per
        size where both were timed.
    """
    by_key = {
        (r['model'], _hw(r['size']), r['batch'], r['dtype']): r
        for r in rows
    }
    figures = []
    for suffix, how in (('', ''), (COMPILED, ' (torch.compile, both)')):
        for size in dict.fromkeys(_hw(r['size']) for r in rows):
            mine = by_key.get(('convmlp-s' + suffix, size, 1, 'fp32'))
            ref = by_key.get((REFERENCE + suffix, size, 1, 'fp32'))
            if mine and ref:
                figures.append(
                    dict(
                        name='ConvMLP-S fp32 latency / ResNet-50 fp32 latency'
                        + how,
                        size=size,
                        batch=1,
                        value=mine['latency_s'] / ref['latency_s'],
                        latency_s=mine['latency_s'],
                        reference_s=ref['latency_s']))
    return figures


def figure_lines(figures: Sequence[dict]) -> List[str]:
    """The figures of :func:`ratio_figures` as plain text lines."""
    return [
        f'{f["name"]}, {f["size"]}, batch {f["batch"]}: '
        f'{f["value"]:.3f} ({f["latency_s"] * 1e3:.1f} ms / '
        f'{f["reference_s"] * 1e3:.1f} ms, same run)' for f in figures
    ]


# ------------------------------------------------------------------ runtimes
def run_runtimes(names: Sequence[str], sizes: Sequence[Tuple[int, int]],
                 runtimes: Sequence[str], threads: int, repeats: Sequence[int],
                 warmup: int) -> dict:
    """The ``runtimes`` section: each backbone at each size, batch 1, fp32,
    on every installed runtime of ``runtimes``, one interleaved loop per
    size (:func:`mmconvmlp.utils.benchmark.runtime_runs`).

    Args:
        names (Sequence[str]): Backbones (:func:`build_backbone`).
        sizes (Sequence[tuple[int, int]]): Image sizes (H, W).
        runtimes (Sequence[str]): From ``RUNTIMES``; those whose packages
            are missing are left out (``missing``).
        threads (int): Threads of every runtime.
        repeats (Sequence[int]): Timed repeats for each size.
        warmup (int): Untimed runs of each configuration (``compile``
            compiles before them).

    Returns:
        dict: ``rows`` (:func:`mmconvmlp.utils.benchmark.runtime_rows`:
        ``latency_s``, ``ratio_eager``, ``max_error``, ...) and ``missing``
        (runtime -> the packages it lacks).
    """
    missing = missing_runtimes(runtimes)
    for rt, pkgs in missing.items():
        log(f'runtimes: {rt} left out ({pkgs} not installed)')
    kept = [rt for rt in runtimes if rt not in missing]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            log(f'runtimes: building {name}, preparing {", ".join(kept)}')
            model = build_backbone(name)
            for size, reps in zip(sizes, repeats):
                x = backbone_input(name, 1, size)
                runs = runtime_runs(model, name, [x], kept, threads, tmp)
                measure_interleaved(runs, warmup, reps, log,
                                    f'runtimes {name} {_hw(size)}')
                rows += runtime_rows(runs)
    return dict(rows=rows, missing=missing)


def runtime_figure_lines(rows: Sequence[dict]) -> List[str]:
    """One line per backbone, size and runtime other than eager: latency /
    eager latency, both from the same loop."""
    return [
        f'{r["model"]} fp32 latency, {r["runtime"]} / eager, '
        f'{_hw(r["size"])}, batch {r["batch"]}, {r["threads"]} threads: '
        f'{r["ratio_eager"]:.3f} ({r["latency_s"] * 1e3:.1f} ms / '
        f'{r["latency_s"] / r["ratio_eager"] * 1e3:.1f} ms, same run)'
        for r in rows if r['runtime'] != 'eager' and r['ratio_eager']
    ]


# -------------------------------------------------------------- whole models
@dataclass(frozen=True)
class WholeModel:
    """A detector or segmentor to time.

    Attributes:
        name (str): Its name in the results.
        config (str): Path of its config file.
        scope (str): ``'mmdet'`` or ``'mmseg'``.
        arch (str | None): The ConvMLP arch swapped into the config's model
            by ``swap_backbone``; None builds the config's own backbone.
        peer (str | None): The model its ratios divide by (the same config
            with its own backbone), or None.
    """
    name: str
    config: str
    scope: str
    arch: Optional[str] = None
    peer: Optional[str] = None

    @property
    def is_convmlp(self) -> bool:
        """Whether the backbone is ConvMLP (swapped in or configured)."""
        if self.arch:
            return True
        from mmengine.config import Config
        backbone = Config.fromfile(self.config).model.backbone
        return backbone.get('type') in CONVMLP_TYPES


def stock_config(scope: str) -> str:
    """The path of the stock config of ``scope`` in the installed package.

    MMDetection and MMSegmentation ship their configs in
    ``<package>/.mim/configs``, so this works after a plain ``pip install``.

    Args:
        scope (str): ``'mmdet'`` or ``'mmseg'``.

    Returns:
        str: The path (see ``STOCK_CONFIGS``).

    Raises:
        FileNotFoundError: The package ships no such config.
    """
    import importlib
    package = importlib.import_module(scope)
    path = osp.join(
        osp.dirname(package.__file__), '.mim', 'configs',
        STOCK_CONFIGS[scope][1])
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{scope} {package.__version__} ships no {path}; give the configs '
            'to time with --config')
    return path


def whole_models(configs: Optional[Sequence[str]] = None,
                 arch: str = 's') -> List[WholeModel]:
    """The whole models of the ``models`` section.

    Without ``configs``: RetinaNet (MMDetection's
    ``retinanet_r50_fpn_1x_coco.py``) and Semantic FPN (MMSegmentation's
    ``fpn_r50_4xb4-160k_ade20k-512x512.py``), each with its ResNet-50
    (``retinanet-r50``, ``fpn-r50``) and with ConvMLP swapped in
    (``retinanet-convmlp-s``, ``fpn-convmlp-s``; the paper's models). Each
    config given is timed as it is (named after its file) and, unless its
    backbone is ConvMLP already, with ConvMLP swapped in
    (``<name>-convmlp-<arch>``).

    Args:
        configs (Sequence[str], optional): MMDetection / MMSegmentation
            config files. Defaults to None (the stock configs).
        arch (str): The ConvMLP arch to swap in. Defaults to ``'s'``.

    Returns:
        list[WholeModel]: The models, each peer before its ConvMLP model.

    Raises:
        ValueError: A config whose ``default_scope`` is neither ``'mmdet'``
            nor ``'mmseg'``.
    """
    from mmengine.config import Config
    models = []
    if not configs:
        for scope, (short, _) in STOCK_CONFIGS.items():
            path = stock_config(scope)
            models += [
                WholeModel(f'{short}-r50', path, scope),
                WholeModel(f'{short}-convmlp-{arch}', path, scope, arch,
                           f'{short}-r50')
            ]
        return models
    for path in configs:
        cfg = Config.fromfile(path)
        scope = cfg.get('default_scope')
        if scope not in STOCK_CONFIGS:
            raise ValueError(f'{path}: default_scope must be mmdet or mmseg, '
                             f'got {scope!r}')
        name = osp.splitext(osp.basename(path))[0]
        models.append(WholeModel(name, osp.abspath(path), scope))
        if cfg.model.backbone.get('type') not in CONVMLP_TYPES:
            models.append(
                WholeModel(f'{name}-convmlp-{arch}', osp.abspath(path), scope,
                           arch, name))
    return models


def whole_model_config(model: WholeModel,
                       with_cp: bool = False,
                       size: Optional[Tuple[int, int]] = None):
    """The config of a whole model, ready to build on a CPU, no downloads.

    ConvMLP is swapped in with ``swap_backbone(cfg, arch, pretrained=False)``;
    a configured backbone loses its checkpoint (``init_cfg``,
    ``model.pretrained``).

    Args:
        model (WholeModel): The model.
        with_cp (bool): Gradient checkpointing in the backbone.
        size (tuple[int, int], optional): The image size the benchmark feeds;
            MMSegmentation's data preprocessor pads training batches to its
            ``size`` (the 512x512 crop), which is set to this.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config

    from mmconvmlp.utils import swap_backbone
    cfg = Config.fromfile(model.config)
    if model.arch:
        swap_backbone(cfg, arch=model.arch, pretrained=False)
    else:
        cfg.model.backbone.init_cfg = None
        if 'pretrained' in cfg.model:
            cfg.model.pretrained = None
    if with_cp:
        cfg.model.backbone.with_cp = True
    preprocessor = cfg.model.get('data_preprocessor') or {}
    if size is not None and preprocessor.get('size') is not None:
        preprocessor['size'] = tuple(size)
    return cfg


def build_whole_model(model: WholeModel,
                      with_cp: bool = False,
                      size: Optional[Tuple[int, int]] = None) -> nn.Module:
    """Build a whole model and initialise it as a training run starts.

    Initialised (e.g. RetinaNet's classifier prior) so that post-processing
    sees realistic score distributions; SyncBN becomes BN as MMEngine's runner
    does outside distributed runs. Arguments as in
    :func:`whole_model_config`.
    """
    import mmconvmlp.models  # noqa: F401  (registers mmconvmlp.ConvMLP)
    from mmconvmlp.testing.batches import build_model
    net = build_model(whole_model_config(model, with_cp, size))
    net.init_weights()
    return net


def make_batch(net: nn.Module, scope: str, size: Tuple[int, int],
               batch: int) -> dict:
    """A data batch as the data loader packs it, for ``net``.

    uint8 (3, H, W) images with 3 boxes (and masks if ``net`` predicts them)
    per image for detection, a label map with some ignored pixels for
    segmentation; labels below the head's ``num_classes``.
    """
    from mmconvmlp.testing.batches import det_batch, seg_batch
    if scope == 'mmdet':
        roi_head = getattr(net, 'roi_head', None)
        head = getattr(net, 'bbox_head', None) or roi_head.bbox_head
        return det_batch(
            num_classes=head.num_classes,
            size=size,
            with_mask=bool(getattr(roi_head, 'with_mask', False)),
            batch_size=batch)
    return seg_batch(
        num_classes=net.decode_head.num_classes, size=size, batch_size=batch)


def make_optim_wrapper(net: nn.Module, dtype: str):
    """AdamW in MMEngine's ``OptimWrapper``, or in ``CPUAmpOptimWrapper``
    (bf16 autocast, as ``tools/train.py --amp``) for ``dtype='bf16'``.

    bf16 is autocast also where it is emulated (the wrapper would otherwise
    train in fp32 there), so that the bf16 rows measure bf16.
    """
    from mmengine.optim import OptimWrapper

    from mmconvmlp.engine import CPUAmpOptimWrapper
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-4)
    if dtype == 'bf16':
        return CPUAmpOptimWrapper(
            optimizer=optimizer, allow_emulated_bf16=True)
    return OptimWrapper(optimizer=optimizer)


def train_step_fn(net: nn.Module, data: dict,
                  optim_wrapper) -> Callable[[], float]:
    """One ``train_step`` (forward, loss, backward, AdamW step); the copy of
    the batch is not timed."""

    def run() -> float:
        net.train()
        batch = copy.deepcopy(data)
        start = time.perf_counter()
        net.train_step(batch, optim_wrapper)
        return time.perf_counter() - start

    return run


def infer_fn(net: nn.Module, data: dict, scope: str,
             dtype: str) -> Callable[[], float]:
    """One ``test_step`` (pre-processing, network, post-processing); the
    copy of the batch is not timed."""
    from mmconvmlp.engine import autocast_submodules

    def run() -> float:
        net.eval()
        batch = copy.deepcopy(data)
        ctx = (
            autocast_submodules(net, AUTOCAST_MODULES[scope])
            if dtype == 'bf16' else contextlib.nullcontext())
        start = time.perf_counter()
        with torch.no_grad(), ctx:
            net.test_step(batch)
        return time.perf_counter() - start

    return run


class _TensorMode(nn.Module):
    """``net(inputs, mode='tensor')``: the network without post-processing,
    as MMEngine's MAC counter can trace it."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, inputs: torch.Tensor):
        return self.net(inputs, mode='tensor')


def run_models(models: Sequence[WholeModel],
               det_size: Tuple[int, int],
               seg_size: Tuple[int, int],
               batch: int,
               dtypes: Sequence[str],
               repeats: int,
               warmup: int,
               bf16_native: bool = True) -> dict:
    """The ``models`` section: inference and one training step of each
    model, all in one interleaved loop.

    Args:
        models (Sequence[WholeModel]): From :func:`whole_models`.
        det_size (tuple[int, int]): Detection image size (H, W).
        seg_size (tuple[int, int]): Segmentation image size (H, W).
        batch (int): Images per step.
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'``.
        repeats (int): Timed repeats.
        warmup (int): Untimed runs of each configuration.
        bf16_native (bool): Stored in the bf16 rows. Defaults to True.

    Returns:
        dict: ``rows``, one per model, mode (``'infer'``, ``'train'``) and
        dtype: ``gmacs`` (network without post-processing, for the batch),
        ``params_m`` (millions), ``latency_s`` (median), ``times_s``,
        ``min_s``, ``throughput_img_s``, ``peer``, ``ratio_r50`` (latency /
        the peer's at the same mode and dtype), ``ratio_r50_fp32`` (/ the
        peer's fp32 latency), ``bf16_speedup`` (bf16 rows: fp32 latency /
        bf16 latency of the same model and mode) and ``bf16_native`` (bf16
        rows; None on fp32 rows).
    """
    runs, gmacs, params = [], {}, {}
    for m in models:
        size = det_size if m.scope == 'mmdet' else seg_size
        log(f'building {m.name} ({m.config})')
        net = build_whole_model(m, size=size)
        data = make_batch(net, m.scope, size, batch)
        params[m.name] = sum(p.numel() for p in net.parameters()) / 1e6
        net.eval()
        with torch.no_grad():
            inputs = net.data_preprocessor(copy.deepcopy(data), False)
        gmacs[m.name] = count_gmacs(_TensorMode(net), (inputs['inputs'], ))
        log(f'{m.name}: {params[m.name]:.2f} M parameters, '
            f'{_fmt(gmacs[m.name], ".1f")} GMACs at {_hw(size)}, '
            f'batch {batch}')
        for mode in ('infer', 'train'):
            for dtype in dtypes:
                key = dict(
                    model=m.name,
                    task=m.scope[2:],
                    size=list(size),
                    batch=batch,
                    mode=mode,
                    dtype=dtype,
                    peer=m.peer)
                if mode == 'infer':
                    run = infer_fn(net, data, m.scope, dtype)
                else:
                    run = train_step_fn(net, data,
                                        make_optim_wrapper(net, dtype))
                runs.append(TimedRun(key, run))
    measure_interleaved(runs, warmup, repeats, log, 'models')
    by_key = {
        (r.key['model'], r.key['mode'], r.key['dtype']): r.median
        for r in runs
    }
    rows = []
    for item in runs:
        k, t = item.key, item.median
        peer = k['peer'] or k['model']
        own32 = by_key.get((k['model'], k['mode'], 'fp32'))
        bf16 = k['dtype'] == 'bf16'
        rows.append(
            dict(
                k,
                gmacs=gmacs[k['model']],
                params_m=params[k['model']],
                latency_s=t,
                times_s=item.times,
                min_s=min(item.times),
                throughput_img_s=k['batch'] / t,
                ratio_r50=_ratio(t, by_key.get((peer, k['mode'], k['dtype']))),
                ratio_r50_fp32=_ratio(t, by_key.get(
                    (peer, k['mode'], 'fp32'))),
                bf16_speedup=own32 / t if bf16 and own32 else None,
                bf16_native=bf16_native if bf16 else None))
    return dict(rows=rows)


# -------------------------------------------------------------------- memory
def memory_worker(spec: dict) -> dict:
    """One fp32 training step's peak memory; run it in a fresh process.

    Args:
        spec (dict): ``model`` (:class:`WholeModel` fields), ``with_cp``,
            ``size``, ``batch`` and ``threads``.

    Returns:
        dict: :func:`mmconvmlp.utils.benchmark.peak_rss_of_step` of the step.
    """
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    _quiet_mmengine()
    model, size = WholeModel(**spec['model']), tuple(spec['size'])
    net = build_whole_model(model, spec['with_cp'], size)
    data = make_batch(net, model.scope, size, spec['batch'])
    optim_wrapper = make_optim_wrapper(net, 'fp32')
    net.train()
    return peak_rss_of_step(lambda: net.train_step(data, optim_wrapper))


def run_memory(model: WholeModel, size: Tuple[int, int], batch: int,
               threads: int) -> dict:
    """The ``memory`` section: :func:`memory_worker` for ``with_cp`` False
    and True, each in a fresh run of this script.

    Args:
        model (WholeModel): A model whose backbone takes ``with_cp``.
        size (tuple[int, int]): Image size (H, W).
        batch (int): Images per step.
        threads (int): Intra-op threads.

    Returns:
        dict: ``rows`` (one per ``with_cp``: ``model``, ``size``, ``batch``,
        ``with_cp`` and the worker's fields), ``saving_mib`` (peak without
        minus peak with ``with_cp``), ``saving_fraction`` (of the peak
        without) and ``step_saving_fraction`` (of the step's own memory
        without).

    Raises:
        RuntimeError: A worker failed.
    """
    rows = []
    for with_cp in (False, True):
        log(f'memory: {model.name} {_hw(size)} batch {batch} '
            f'with_cp={with_cp} (fresh process)')
        spec = dict(
            model=asdict(model),
            with_cp=with_cp,
            size=list(size),
            batch=batch,
            threads=threads)
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'result.json')
            proc = subprocess.run([
                sys.executable,
                osp.abspath(__file__), '--memory-worker',
                json.dumps(spec), out
            ],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  text=True)
            if proc.returncode != 0:
                raise RuntimeError(f'memory worker (with_cp={with_cp}) '
                                   f'failed:\n{proc.stdout[-3000:]}')
            with open(out) as f:
                result = json.load(f)
        rows.append(
            dict(
                model=model.name,
                size=list(size),
                batch=batch,
                with_cp=with_cp,
                **result))
        log(f'memory: with_cp={with_cp}: peak {result["peak_mib"]:.0f} MiB, '
            f'step {result["step_mib"]:.0f} MiB, {result["step_s"]:.2f} s')
    off, on = rows
    saving = off['peak_mib'] - on['peak_mib']
    step_saving = off['step_mib'] - on['step_mib']
    return dict(
        rows=rows,
        saving_mib=saving,
        saving_fraction=saving / off['peak_mib'],
        step_saving_fraction=(step_saving /
                              off['step_mib'] if off['step_mib'] else None))


# -------------------------------------------------------------------- tables
def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    out = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' for _ in header) + '|'
    ]
    out += ['| ' + ' | '.join(line) + ' |' for line in lines]
    return '\n'.join(out)


def dtype_label(row: dict) -> str:
    """The dtype of a row for the tables: ``'bf16 (emulated)'`` where the
    CPU has no native bfloat16."""
    if row['dtype'] == 'bf16' and row.get('bf16_native') is False:
        return 'bf16 (emulated)'
    return row['dtype']


def machine_line(m: dict) -> str:
    """The CPU and software of the results in one paragraph."""
    limits = [
        f'{k.upper()}={m[k]}'
        for k in ('onednn_max_cpu_isa', 'aten_cpu_capability',
                  'omp_wait_policy') if m.get(k)
    ]
    return (f'CPU: {m["cpu"]}, {m["cores"]} cores, {m["threads"]} threads; '
            f'hardware ISA {m["hardware_isa"]}; torch kernels '
            f'{m["torch_isa"]}; bfloat16 '
            f'{"native" if m["bf16_native"] else "emulated"}' +
            (f'; {", ".join(limits)}' if limits else '') +
            f'. torch {m["torch"]} (oneDNN {m["onednn"]}), mmengine '
            f'{m["mmengine"]}, mmcv {m["mmcv"]}, mmdet {m["mmdet"]}, mmseg '
            f'{m["mmseg"]}.')


def format_tables(results: dict) -> str:
    """The results as Markdown: the machine, GEMM, backbone, whole-model and
    memory tables, and the ConvMLP-S / ResNet-50 figure lines."""
    s = results['settings']
    head = [
        machine_line(results['machine']),
        f'Timed repeats (interleaved; medians shown): '
        f'{s["repeats_desc"]}.'
    ]
    if not results['machine']['bf16_native'] and 'bf16' in s['dtypes']:
        head.append('bfloat16 is emulated on this CPU '
                    f'({EMULATED_BF16_SLOWDOWN} slower than fp32): its rows '
                    'say "bf16 (emulated)".')
    if s['dtypes_left_out']:
        head.append(f'Left out: {", ".join(s["dtypes_left_out"])} rows '
                    '(--quick on a CPU without native bfloat16).')
    load = {
        k: v
        for k, v in results.get('other_load', {}).items() if v is not None
    }
    if load:
        head.append('CPU share taken by other processes: ' +
                    ', '.join(f'{k} {v * 100:.0f} %'
                              for k, v in load.items()) + '.')
    parts = [' '.join(head)]
    bb = results.get('backbones')
    if bb:
        parts.append('GEMM (M = N = K = n), per image-size loop:\n\n' +
                     _table(['loop', 'GEMM', 'n', 'dtype', 'ms', 'GFLOP/s'], [[
                         _hw(g['size']), g['gemm'],
                         str(g['n']),
                         dtype_label(g),
                         _fmt(g['latency_s'] * 1e3, '.1f'),
                         _fmt(g['gflops'], '.0f')
                     ] for g in bb['gemm']]))
        parts.append('Backbones (forward pass, inference):\n\n' + _table([
            'backbone', 'size', 'batch', 'dtype', 'GMACs', 'latency ms',
            'img/s', 'GFLOP/s', '% GEMM peak', 'x ResNet-50',
            'x ResNet-50 fp32', 'cos bf16/fp32'
        ], [[
            r['model'],
            _hw(r['size']),
            str(r['batch']),
            dtype_label(r),
            _fmt(r['gmacs'], '.2f'),
            _fmt(r['latency_s'] * 1e3, '.1f'),
            _fmt(r['throughput_img_s'], '.2f'),
            _fmt(r['gflops'], '.0f'),
            _fmt(r['peak_fraction'] and r['peak_fraction'] * 100, '.0f'),
            _fmt(r['ratio_resnet50'], '.2f'),
            _fmt(r['ratio_resnet50_fp32'], '.2f'),
            _fmt(r['cos_sim_fp32'], '.5f')
        ] for r in bb['rows']]))
    if results.get('figures'):
        parts.append('\n'.join(figure_lines(results['figures'])))
    mo = results.get('models')
    if mo:
        parts.append(
            'Whole models (infer = test_step with post-processing; train = '
            'one train_step with AdamW):\n\n' + _table([
                'model', 'size', 'batch', 'mode', 'dtype', 'M params', 'GMACs',
                'ms', 'img/s', 'x R50 peer', 'x R50 peer fp32', 'bf16 speed-up'
            ], [[
                r['model'],
                _hw(r['size']),
                str(r['batch']), r['mode'],
                dtype_label(r),
                _fmt(r['params_m'], '.2f'),
                _fmt(r['gmacs'], '.1f'),
                _fmt(r['latency_s'] * 1e3, '.0f'),
                _fmt(r['throughput_img_s'], '.2f'),
                _fmt(r['ratio_r50'], '.2f'),
                _fmt(r['ratio_r50_fp32'], '.2f'),
                _fmt(r['bf16_speedup'], '.2f')
            ] for r in mo['rows']]))
    rt = results.get('runtimes')
    if rt:
        parts.append(
            'Runtimes (one backbone, batch 1, fp32; ONNX files exported with '
            'dynamic axes):\n\n' + _table([
                'backbone', 'size', 'runtime', 'threads', 'latency ms',
                'img/s', 'x eager', 'max error vs eager'
            ], [[
                r['model'],
                _hw(r['size']), r['runtime'],
                str(r['threads']),
                _fmt(r['latency_s'] * 1e3, '.1f'),
                _fmt(r['throughput_img_s'], '.2f'),
                _fmt(r['ratio_eager'], '.3f'),
                _fmt(r['max_error'], '.1e')
            ] for r in rt['rows']]))
        lines = runtime_figure_lines(rt['rows'])
        lines += [
            f'{k}: not installed ({v}), no rows'
            for k, v in rt['missing'].items()
        ]
        if lines:
            parts.append('\n'.join(lines))
    me = results.get('memory')
    if me:
        step_saving = me['step_saving_fraction']
        parts.append(
            'Peak memory of one training step (fp32, fresh process each):'
            '\n\n' + _table([
                'model', 'size', 'batch', 'with_cp', 'RSS before MiB',
                'peak RSS MiB', 'step (peak - before) MiB', 'step s'
            ], [[
                r['model'],
                _hw(r['size']),
                str(r['batch']),
                str(r['with_cp']),
                _fmt(r['rss_before_mib'], '.0f'),
                _fmt(r['peak_mib'], '.0f'),
                _fmt(r['step_mib'], '.0f'),
                _fmt(r['step_s'], '.2f')
            ] for r in me['rows']]) +
            f'\n\nwith_cp lowers the peak by {me["saving_mib"]:.0f} MiB '
            f'({me["saving_fraction"] * 100:.1f} % of the peak RSS, '
            f'{_fmt(step_saving and step_saving * 100, ".1f")} % of the '
            "step's own memory).")
    return '\n\n'.join(parts) + '\n'


# ----------------------------------------------------------------------- CLI
def _size(text: str) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'a size is HxW, e.g. 800x1216; got {text!r}')
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(
            f'sizes must be at least 32x32, got {text!r}')
    return h, w


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (see ``--help``) and fill in the defaults.

    Returns:
        argparse.Namespace: The options, plus ``sections``, ``size_repeats``
        (one per size) and ``model_repeats``; ``resnet50`` is always among
        ``backbones`` (the reference of the ratios).
    """
    cores = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(
        prog='tools/analysis_tools/benchmark.py',
        description='CPU benchmark of ConvMLP against ResNet-50 and Swin-T: '
        'backbones, whole models (RetinaNet, Semantic FPN) and the training '
        'memory of with_cp. Prints Markdown tables, or JSON with --json; '
        'progress goes to stderr.')
    p.add_argument(
        '--json', action='store_true', help='print the results as JSON')
    p.add_argument(
        '--quick',
        action='store_true',
        help='tiny run: 224x224 (batch 1 and 2), detection 128x128, '
        'segmentation 64x64, no warm-up, 1 repeat, GEMM n=512, and no bf16 '
        'rows on a CPU without native bfloat16; explicit options still win')
    p.add_argument(
        '--only',
        nargs='+',
        choices=SECTIONS,
        default=None,
        help='sections to run (default: backbones, models, '
        'memory, and runtimes when --runtimes is given)')
    p.add_argument(
        '--sizes',
        nargs='+',
        type=_size,
        default=None,
        help='backbone image sizes HxW (default: 224x224 800x1216)')
    p.add_argument(
        '--batch',
        nargs='+',
        type=int,
        default=None,
        help='the larger backbone batch, one per size or one for all (batch '
        '1 always runs; default: 8 at 224x224, 2 at 800x1216)')
    p.add_argument(
        '--repeats',
        type=int,
        default=None,
        help='timed repeats of every configuration (default: 5 for images of '
        'up to 300,000 pixels such as 224x224, else 3; 3 for the whole '
        'models; 1 with --quick)')
    p.add_argument(
        '--warmup',
        type=int,
        default=None,
        help='untimed runs of every configuration first (default: '
        '1; 0 with --quick)')
    p.add_argument(
        '--threads',
        type=int,
        default=cores,
        help='intra-op threads, torch.set_num_threads (default: '
        f'the cores this process may use, here {cores})')
    p.add_argument(
        '--dtypes',
        nargs='+',
        choices=DTYPES,
        default=list(DTYPES),
        help='fp32 and/or bf16 autocast (default: both)')
    p.add_argument(
        '--backbones',
        nargs='+',
        choices=BACKBONES,
        default=list(BACKBONES),
        help='backbones to time (default: all; resnet50, the reference of '
        'the ratios, always runs; resnet50-cl is ResNet-50 fed channels-last '
        'images)')
    p.add_argument(
        '--compile',
        action='store_true',
        help='also time each backbone under torch.compile with Inductor '
        'freezing (rows NAME+compile, ratios to resnet50+compile; compiles '
        'each size, batch and dtype once during the warm-up)')
    p.add_argument(
        '--config',
        nargs='+',
        default=None,
        metavar='PATH',
        help='MMDetection / MMSegmentation configs to time in the models '
        'section instead of the stock RetinaNet and Semantic FPN: each as it '
        'is and, unless its backbone is ConvMLP, with ConvMLP swapped in')
    p.add_argument(
        '--model-arch',
        choices=('s', 'm', 'l'),
        default='s',
        help='the ConvMLP swapped into the whole models '
        '(default: s)')
    p.add_argument(
        '--det-size',
        type=_size,
        default=None,
        help='detection image size (default: 800x1216; the '
        'memory section uses it too)')
    p.add_argument(
        '--seg-size',
        type=_size,
        default=None,
        help='segmentation image size (default: 512x512, the '
        'ADE20K crop)')
    p.add_argument(
        '--model-batch',
        type=int,
        default=1,
        help='images per whole-model step, also for memory '
        '(default: 1)')
    p.add_argument(
        '--gemm-sizes',
        nargs='+',
        type=int,
        default=None,
        help='square GEMM sizes of the peak (default: 2048)')
    p.add_argument(
        '--runtimes',
        nargs='+',
        choices=RUNTIMES,
        default=None,
        help='runtimes of the runtimes section, which this option turns on '
        '(default: all four; those not installed are left out)')
    p.add_argument(
        '--runtime-backbones',
        nargs='+',
        choices=BACKBONES,
        default=['convmlp-s'],
        help='backbones of the runtimes section (default: convmlp-s)')
    # Internal: one memory measurement, run by the memory section.
    p.add_argument(
        '--memory-worker',
        nargs=2,
        metavar=('SPEC', 'OUT'),
        help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    q = args.quick
    args.sections = list(args.only) if args.only else list(DEFAULT_SECTIONS)
    if args.runtimes and 'runtimes' not in args.sections:
        args.sections.append('runtimes')
    args.runtimes = list(args.runtimes or RUNTIMES)
    if args.sizes is None:
        args.sizes = [(224, 224)] if q else [(224, 224), DETECTION_SIZE]
    if args.batch is None:
        args.batch = [
            2 if q else (8 if s[0] * s[1] <= 300_000 else 2)
            for s in args.sizes
        ]
    elif len(args.batch) == 1:
        args.batch = args.batch * len(args.sizes)
    if len(args.batch) != len(args.sizes):
        p.error(f'--batch takes one value or one per size ({len(args.sizes)})')
    if args.repeats is None:
        args.size_repeats = [
            1 if q else default_repeats(s) for s in args.sizes
        ]
        args.model_repeats = 1 if q else 3
    else:
        if args.repeats < 1:
            p.error('--repeats must be >= 1')
        args.size_repeats = [args.repeats] * len(args.sizes)
        args.model_repeats = args.repeats
    if args.warmup is None:
        args.warmup = 0 if q else 1
    if args.warmup < 0 or args.threads < 1 or args.model_batch < 1:
        p.error('--warmup must be >= 0, --threads and --model-batch >= 1')
    args.det_size = args.det_size or ((128, 128) if q else DETECTION_SIZE)
    args.seg_size = args.seg_size or ((64, 64) if q else (512, 512))
    args.gemm_sizes = args.gemm_sizes or ([512] if q else [2048])
    if REFERENCE not in args.backbones:
        args.backbones = [REFERENCE] + list(args.backbones)
    if args.compile:
        args.backbones = list(
            args.backbones) + [n + COMPILED for n in args.backbones]
    return args


def _quiet_mmengine() -> None:
    """Drop MMEngine's INFO lines (``init_weights`` logs every parameter):
    ``print_log(logger='current')`` writes to the MMLogger created last, so
    a new one is created on every call (one run in-process after another)."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance(
        f'mmconvmlp_benchmark_{time.monotonic_ns()}', log_level='WARNING')


def select_dtypes(dtypes: Sequence[str], quick: bool,
                  bf16_native: bool) -> Tuple[List[str], List[str]]:
    """The dtypes to time on this CPU: ``(kept, left_out)``.

    ``--quick`` leaves bf16 out where it is emulated (5-24x slower than
    fp32, so it would dominate the run); otherwise every dtype asked for
    runs, and emulated bf16 rows are marked as such.
    """
    if quick and not bf16_native and 'bf16' in dtypes:
        return [d for d in dtypes if d != 'bf16'], ['bf16']
    return list(dtypes), []


def run(args: argparse.Namespace) -> dict:
    """Run the sections chosen by ``args`` (from :func:`parse_args`).

    Returns:
        dict: ``machine`` (:func:`mmconvmlp.utils.benchmark.machine_info`),
        ``settings``, one entry per section run (:func:`run_backbones`,
        :func:`run_models`, :func:`run_memory`, :func:`run_runtimes`),
        ``figures``
        (:func:`ratio_figures`), ``other_load`` (per section, the CPU share
        of other processes, see :class:`OtherLoad`) and ``total_s``.
    """
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    machine = machine_info(args.threads)
    native = machine['bf16_native']
    dtypes, left_out = select_dtypes(args.dtypes, args.quick, native)
    log(machine_line(machine))
    if left_out:
        log('--quick: no bf16 rows, this CPU has no native bfloat16 (emulated '
            f'bf16 runs {EMULATED_BF16_SLOWDOWN} slower than fp32)')
    elif 'bf16' in dtypes and not native:
        log('bfloat16 is emulated on this CPU: the bf16 rows run '
            f'{EMULATED_BF16_SLOWDOWN} slower than fp32 (marked "emulated")')
    reps = []
    if 'backbones' in args.sections:
        reps.append(', '.join(f'{r} at {_hw(s)}'
                              for r, s in zip(args.size_repeats, args.sizes)) +
                    ' (backbones)')
    if 'models' in args.sections:
        reps.append(f'{args.model_repeats} (whole models)')
    if 'runtimes' in args.sections:
        reps.append(', '.join(f'{r} at {_hw(s)}'
                              for r, s in zip(args.size_repeats, args.sizes)) +
                    ' (runtimes)')
    results = dict(
        machine=machine,
        settings=dict(
            sections=args.sections,
            sizes=[list(s) for s in args.sizes],
            batch=args.batch,
            size_repeats=args.size_repeats,
            model_repeats=args.model_repeats,
            warmup=args.warmup,
            dtypes=dtypes,
            dtypes_left_out=left_out,
            det_size=list(args.det_size),
            seg_size=list(args.seg_size),
            model_batch=args.model_batch,
            model_arch=args.model_arch,
            configs=args.config,
            gemm_sizes=args.gemm_sizes,
            quick=args.quick,
            compile=args.compile,
            runtimes=args.runtimes,
            runtime_backbones=args.runtime_backbones,
            threads=args.threads,
            repeats_desc=', '.join(reps) or 'none'))
    _quiet_mmengine()
    torch.manual_seed(0)
    other = {}
    timing = [s for s in ('backbones', 'models') if s in args.sections]
    if timing and not dtypes:
        log(f'no dtype left to time: {", ".join(timing)} skipped')
    if 'backbones' in args.sections and dtypes:
        with OtherLoad() as other['backbones']:
            results['backbones'] = run_backbones(args.backbones, args.sizes,
                                                 args.batch, dtypes,
                                                 args.size_repeats,
                                                 args.warmup, args.gemm_sizes,
                                                 native)
        results['figures'] = ratio_figures(results['backbones']['rows'])
        for line in figure_lines(results['figures']):
            log(line)
    models = None
    if 'models' in args.sections and dtypes:
        models = whole_models(args.config, args.model_arch)
        with OtherLoad() as other['models']:
            results['models'] = run_models(models, args.det_size,
                                           args.seg_size, args.model_batch,
                                           dtypes, args.model_repeats,
                                           args.warmup, native)
    if 'memory' in args.sections:
        models = models or whole_models(args.config, args.model_arch)
        target = next((m for m in models if m.is_convmlp), None)
        if target is None:
            log('memory: no whole model with a ConvMLP backbone, skipped')
        else:
            size = args.det_size if target.scope == 'mmdet' else args.seg_size
            with OtherLoad() as other['memory']:
                results['memory'] = run_memory(target, size, args.model_batch,
                                               args.threads)
    if 'runtimes' in args.sections:
        with OtherLoad() as other['runtimes']:
            results['runtimes'] = run_runtimes(args.runtime_backbones,
                                               args.sizes, args.runtimes,
                                               args.threads, args.size_repeats,
                                               args.warmup)
        for line in runtime_figure_lines(results['runtimes']['rows']):
            log(line)
    # A section that shared the machine is slower than the machine.
    results['other_load'] = {k: v.fraction for k, v in other.items()}
    results['total_s'] = time.perf_counter() - start
    log(f'done in {results["total_s"]:.0f} s')
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, run, print; stdout carries only the tables or the JSON.

    Whatever the libraries print while the benchmark runs (MMEngine's
    logger, C++ warnings) is sent to stderr at the file-descriptor level.

    Returns:
        int: The exit status (0).
    """
    args = parse_args(argv)
    if args.memory_worker:
        spec, out = args.memory_worker
        result = memory_worker(json.loads(spec))
        with open(out, 'w') as f:
            json.dump(result, f)
        return 0
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), 'w')
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        results = run(args)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if args.json:
        json.dump(results, out, indent=1)
        out.write('\n')
    else:
        out.write(format_tables(results))
    out.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
