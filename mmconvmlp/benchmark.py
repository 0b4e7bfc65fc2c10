# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""CPU speed and memory benchmark of ConvMLP against ResNet-50 and Swin-T.

The code behind ``tools/benchmark.py``. Everything is measured in one process
(except peak memory, which needs a fresh process per configuration) at a fixed
thread count: every configuration of a section is warmed up, then the repeats
run interleaved (configuration 1, 2, ..., n, then n, ..., 1, ...) so that a
machine whose speed drifts (other jobs, clocks) slows all of them alike, and the
median of the repeats is reported.

Sections:

- ``backbones``: ConvMLP-S/M/L, MMDetection's ResNet-50 and Swin-T, forward pass
  (inference) at each size, batch 1 and a larger batch, fp32 and bf16 autocast;
  GMACs (MMEngine's ``FlopAnalyzer``, one multiply-add = one MAC), achieved
  GFLOP/s (2 x MACs / time), the fraction of the GEMM peak measured in the same
  interleaved loop, the ratio to ResNet-50, and the cosine similarity of the bf16
  outputs to the fp32 ones.
- ``models``: RetinaNet-ConvMLP-S against RetinaNet-R50 (COCO configs) and
  Semantic FPN-ConvMLP-S against Semantic FPN-R50 (ADE20K configs): inference
  (``test_step``, with post-processing) and one training step (``train_step``:
  forward, loss, backward, AdamW step), fp32 and bf16 autocast.
- ``memory``: the peak resident memory of one RetinaNet-ConvMLP-S training step
  with and without ``with_cp`` (gradient checkpointing), each in a fresh process.

Numbers are seconds, GMACs (1e9 multiply-adds), GFLOP/s (1e9 floating-point
operations per second) and MiB (2**20 bytes).
"""
import argparse
import contextlib
import copy
import json
import math
import os
import os.path as osp
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmconvmlp.engine import autocast_submodules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs')

BACKBONES = ('convmlp-s', 'convmlp-m', 'convmlp-l', 'resnet50', 'resnet50-cl', 'swin-t')
REFERENCE = 'resnet50'
COMPILED = '+compile'  # suffix of a backbone run through torch.compile (--compile)
DTYPES = ('fp32', 'bf16')
SECTIONS = ('backbones', 'models', 'memory')
TARGET_SIZE = (800, 1216)

# The whole models: (name, code base, config, stock?) and the submodules that bf16
# inference autocasts. MMCV's compiled CPU ops (NMS) take float32 only, so the
# post-processing stays float32 (as ``CPUAmpOptimWrapper(autocast_modules=...)``).
WHOLE_MODELS = {
    'retinanet-convmlp-s': ('mmdet', 'retinanet_convmlp_s_coco.py', False),
    'retinanet-r50': ('mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py', True),
    'fpn-convmlp-s': ('mmseg', 'fpn_convmlp_s_ade20k.py', False),
    'fpn-r50': ('mmseg', 'sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py', True),
}
PEERS = {'retinanet-convmlp-s': 'retinanet-r50', 'fpn-convmlp-s': 'fpn-r50'}
AUTOCAST_MODULES = {'mmdet': ('backbone', 'neck', 'bbox_head'),
                    'mmseg': ('backbone', 'neck', 'decode_head', 'auxiliary_head')}


def log(msg: str) -> None:
    """Print a progress message to stderr (stdout carries the table or JSON)."""
    print(f'[benchmark {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


# --------------------------------------------------------------------- machine
def machine_info(threads: int) -> dict:
    """Describe the machine and the software stack the numbers come from.

    Args:
        threads (int): The intra-op thread count the benchmark runs at.

    Returns:
        dict: ``cpu`` (model name), ``cores`` (usable by this process),
        ``isa`` (the relevant CPU flags present), ``threads``, ``python``,
        ``torch``, ``onednn`` and the versions of the OpenMMLab packages.
    """
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    cpu = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
    except OSError:
        pass
    isa = [f for f in ('avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_bf16',
                       'amx_tile') if f in flags]
    versions = {}
    for mod in ('mmengine', 'mmcv', 'mmdet', 'mmseg'):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001  (a missing code base only skips sections)
            versions[mod] = None
    # torch has no API for oneDNN's version; its build summary names it.
    onednn = re.search(r'MKL-DNN v([\d.]+)', torch.__config__.show())
    return dict(cpu=cpu, cores=len(os.sched_getaffinity(0)), isa=isa, threads=threads,
                python=platform.python_version(), torch=torch.__version__,
                onednn=onednn.group(1) if onednn else None, **versions)


class OtherLoad:
    """How busy other processes kept the CPUs while a block ran.

    Timings on a shared machine are only as good as the CPU time the benchmark
    got: this compares the CPU time all processes used (``/proc/stat``) with the
    benchmark's own (``os.times``, children included) over the block's wall time.

    Attributes:
        fraction (float | None): CPU time of other processes / (wall time x CPUs);
            0 on an idle machine, 0.5 when others kept one of two cores busy.
            None where ``/proc/stat`` cannot be read.
    """

    def __init__(self):
        self.fraction = None

    @staticmethod
    def _busy_s() -> Optional[float]:
        try:
            with open('/proc/stat') as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
        return busy / os.sysconf('SC_CLK_TCK')

    @staticmethod
    def _own_s() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def __enter__(self) -> 'OtherLoad':
        self._start = (time.perf_counter(), self._busy_s(), self._own_s())
        return self

    def __exit__(self, *exc) -> None:
        wall0, busy0, own0 = self._start
        busy1 = self._busy_s()
        if busy0 is None or busy1 is None:
            return
        wall = time.perf_counter() - wall0
        cpus = os.cpu_count() or 1
        other = (busy1 - busy0) - (self._own_s() - own0)
        self.fraction = max(0.0, other / (wall * cpus)) if wall > 0 else None


# ---------------------------------------------------------------------- timing
@dataclass
class Item:
    """One configuration to time.

    Attributes:
        key (dict): What identifies it in the results (model, size, dtype, ...).
        run (callable): Runs it once and returns the seconds to count (it may
            exclude its own set-up, e.g. copying a data batch).
        times (list[float]): The timed repeats, seconds.
    """
    key: dict
    run: Callable[[], float]
    times: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """Wrap ``fn`` into a callable that returns its wall-clock seconds."""
    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    return run


def measure_interleaved(items: Sequence[Item], warmup: int, repeats: int,
                        label: str = '') -> None:
    """Time every item ``repeats`` times, interleaved, after ``warmup`` runs each.

    Odd rounds run the items in reverse order, so a slow drift of the machine's
    speed affects the first and the last items alike. Fills ``item.times``.

    Args:
        items (Sequence[Item]): The configurations.
        warmup (int): Untimed runs of each item first (oneDNN builds its kernels
            and the allocator its pools on the first run).
        repeats (int): Timed runs of each item, >= 1.
        label (str): For the progress messages.
    """
    if warmup:
        start = time.perf_counter()
        for item in items:
            for _ in range(warmup):
                item.run()
        log(f'{label} warm-up of {len(items)} configurations took '
            f'{time.perf_counter() - start:.1f} s')
    for r in range(repeats):
        start = time.perf_counter()
        for item in (items if r % 2 == 0 else list(reversed(items))):
            item.times.append(item.run())
        log(f'{label} repeat {r + 1}/{repeats} took {time.perf_counter() - start:.1f} s')


def _describe(key: dict) -> str:
    return ' '.join(str(v) for k, v in key.items() if k not in ('section', ))


def default_repeats(size: Tuple[int, int]) -> int:
    """Default repeats: 5 for images of up to 300,000 pixels (224x224), else 3."""
    return 5 if size[0] * size[1] <= 300_000 else 3


# ------------------------------------------------------------------------ GEMM
def gemm_items(sizes: Sequence[int], dtypes: Sequence[str]) -> List[Item]:
    """Square GEMMs (M = N = K = n) in the two implementations torch uses on CPU.

    ``torch.mm`` goes to MKL's BLAS; a 1x1 convolution over a channels-last map
    is the same GEMM in oneDNN, which runs convolutions (and is what ConvMLP's and
    ResNet's convs use). The peak is the best of them.

    Args:
        sizes (Sequence[int]): Values of n.
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'``.

    Returns:
        list[Item]: Keys ``gemm`` (``'mm'`` or ``'conv1x1'``), ``n``, ``dtype``.
    """
    items = []
    g = torch.Generator().manual_seed(0)
    for n in sizes:
        for dtype in dtypes:
            tdtype = torch.bfloat16 if dtype == 'bf16' else torch.float32
            a = torch.randn(n, n, generator=g).to(tdtype)
            b = torch.randn(n, n, generator=g).to(tdtype)
            items.append(Item(dict(section='gemm', gemm='mm', n=n, dtype=dtype),
                              timed(lambda a=a, b=b: torch.mm(a, b))))
            h = 2 ** (int(math.log2(n)) // 2)  # an (h, n // h) map holds M = n pixels
            x = torch.randn(1, n, h, n // h, generator=g).to(tdtype).contiguous(
                memory_format=torch.channels_last)
            w = torch.randn(n, n, 1, 1, generator=g).to(tdtype)
            items.append(Item(dict(section='gemm', gemm='conv1x1', n=n, dtype=dtype),
                              timed(lambda x=x, w=w: F.conv2d(x, w))))
    return items


def gemm_rows(items: Sequence[Item]) -> List[dict]:
    """Result rows of GEMM items: median seconds and GFLOP/s (2 n^3 / time)."""
    rows = []
    for item in items:
        n = item.key['n']
        rows.append(dict(item.key, latency_s=item.median, times_s=item.times,
                         min_s=min(item.times), gflops=2 * n ** 3 / item.median / 1e9))
    return rows


def gemm_peak(rows: Sequence[dict]) -> Dict[str, dict]:
    """The best GEMM row per dtype: ``{dtype: {'gflops', 'gemm', 'n'}}``."""
    peak = {}
    for row in rows:
        best = peak.get(row['dtype'])
        if best is None or row['gflops'] > best['gflops']:
            peak[row['dtype']] = dict(gflops=row['gflops'], gemm=row['gemm'], n=row['n'])
    return peak


# ------------------------------------------------------------------- backbones
def build_backbone(name: str) -> nn.Module:
    """Build a backbone in eval mode with its default (random) initialisation.

    Args:
        name (str): One of ``BACKBONES``: ``'convmlp-s'``, ``'convmlp-m'``,
            ``'convmlp-l'``, ``'resnet50'`` (MMDetection's ``ResNet(depth=50)``),
            ``'resnet50-cl'`` (the same fed channels-last images, so that its
            convolutions run in oneDNN's preferred layout as ConvMLP's do) or
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


def compile_backbone(model: nn.Module) -> nn.Module:
    """``torch.compile`` a backbone for inference, with Inductor's freezing.

    Freezing turns the parameters into constants, which lets Inductor fold
    BatchNorms, pre-pack weights for oneDNN and fuse activations into the
    convolutions and GEMMs: inference only (``torch.no_grad`` or
    ``torch.inference_mode``). Shapes are static (``dynamic=False``): each size,
    batch and dtype compiles once, during the warm-up; torch 2.13's Inductor does not
    lower convolutions over symbolic sizes (pytorch/pytorch#188422).
    """
    import torch._inductor.config as inductor_config
    inductor_config.freezing = True
    return torch.compile(model, dynamic=False)


def base_name(name: str) -> str:
    """The backbone behind a name: ``'convmlp-s+compile'`` -> ``'convmlp-s'``."""
    return name[:-len(COMPILED)] if name.endswith(COMPILED) else name


def reference_of(name: str) -> str:
    """The ratio reference of a backbone: ResNet-50, compiled when ``name`` is."""
    return REFERENCE + COMPILED if name.endswith(COMPILED) else REFERENCE


def count_gmacs(model: nn.Module, inputs: tuple) -> Optional[float]:
    """Multiply-adds of ``model(*inputs)`` in 1e9, by MMEngine's ``FlopAnalyzer``
    (the counter behind ``get_model_complexity_info``; MMEngine calls MACs
    "flops"). Returns None when the model cannot be traced."""
    from mmengine.analysis import FlopAnalyzer
    try:
        analyzer = FlopAnalyzer(model, inputs)
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        with torch.no_grad():
            return analyzer.total() / 1e9
    except Exception as e:  # noqa: BLE001  (a number we cannot count is reported as None)
        log(f'cannot count the MACs of {type(model).__name__}: {e!r}')
        return None


def _autocast(dtype: str):
    if dtype == 'bf16':
        return torch.autocast('cpu', dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _flat_outputs(outs) -> List[torch.Tensor]:
    if isinstance(outs, torch.Tensor):
        return [outs]
    return [t for o in outs for t in _flat_outputs(o)]


def cosine_similarity(model: nn.Module, x: torch.Tensor) -> float:
    """The smallest, over the output maps, cosine similarity between the bf16
    (autocast) and the fp32 outputs of ``model(x)``, each map flattened."""
    with torch.inference_mode():
        ref = _flat_outputs(model(x))
        with _autocast('bf16'):
            low = _flat_outputs(model(x))
    return min(F.cosine_similarity(r.flatten().double(), o.flatten().double(), dim=0).item()
               for r, o in zip(ref, low))


def _backbone_input(name: str, batch: int, size: Tuple[int, int]) -> torch.Tensor:
    x = torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(batch))
    if base_name(name) == 'resnet50-cl':
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def backbone_items(models: Dict[str, nn.Module], size: Tuple[int, int],
                   batches: Sequence[int], dtypes: Sequence[str]) -> List[Item]:
    """Forward-pass items of every backbone x batch x dtype at one size."""
    items = []
    for batch in batches:
        for name, model in models.items():
            x = _backbone_input(name, batch, size)
            for dtype in dtypes:
                def fwd(model=model, x=x, dtype=dtype):
                    with torch.inference_mode(), _autocast(dtype):
                        model(x)
                items.append(Item(dict(section='backbone', model=name, size=list(size),
                                       batch=batch, dtype=dtype), timed(fwd)))
    return items


def backbone_rows(items: Sequence[Item], gmacs: Dict[Tuple[str, tuple], Optional[float]],
                  cos: Dict[Tuple[str, tuple], float], peak: Dict[str, dict]) -> List[dict]:
    """Result rows of backbone items (see :func:`run_backbones`)."""
    rows = []
    by_key = {(i.key['model'], tuple(i.key['size']), i.key['batch'], i.key['dtype']): i.median
              for i in items}
    for item in items:
        k = item.key
        size, batch, dtype = tuple(k['size']), k['batch'], k['dtype']
        t = item.median
        mac1 = gmacs.get((k['model'], size))
        macs = mac1 * batch if mac1 is not None else None
        gflops = 2 * macs / t if macs is not None else None
        ref = by_key.get((reference_of(k['model']), size, batch, dtype))
        ref32 = by_key.get((reference_of(k['model']), size, batch, 'fp32'))
        p = peak.get(dtype, {}).get('gflops')
        rows.append(dict(
            k, gmacs=macs, latency_s=t, times_s=item.times, min_s=min(item.times),
            throughput_img_s=batch / t, gflops=gflops, gemm_peak_gflops=p,
            peak_fraction=gflops / p if gflops is not None and p else None,
            ratio_resnet50=t / ref if ref else None,
            ratio_resnet50_fp32=t / ref32 if ref32 else None,
            cos_sim_fp32=cos.get((k['model'], size)) if dtype == 'bf16' else None))
    return rows


def run_backbones(names: Sequence[str], sizes: Sequence[Tuple[int, int]],
                  batches: Sequence[int], dtypes: Sequence[str], repeats: Sequence[int],
                  warmup: int, gemm_sizes: Sequence[int]) -> dict:
    """The ``backbones`` section: one interleaved loop per image size, the GEMMs
    of the peak measurement included in each loop.

    Args:
        names (Sequence[str]): Backbones (see :func:`build_backbone`), each
            optionally with the suffix ``'+compile'`` (:func:`compile_backbone`;
            its ratios are to ``'resnet50+compile'``); ``'resnet50'`` is needed for
            the ratios.
        sizes (Sequence[tuple[int, int]]): Image sizes ``(H, W)``.
        batches (Sequence[int]): The larger batch for each size (batch 1 always
            runs; a value <= 1 runs batch 1 only).
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'`` (autocast).
        repeats (Sequence[int]): Timed repeats for each size.
        warmup (int): Untimed runs of each configuration.
        gemm_sizes (Sequence[int]): Square GEMM sizes of the peak measurement.

    Returns:
        dict: ``rows`` (one per backbone, size, batch, dtype: ``gmacs`` for the
        batch, ``latency_s`` (median), ``times_s``, ``throughput_img_s``,
        ``gflops``, ``gemm_peak_gflops`` and ``peak_fraction`` (against the
        best GEMM of the same dtype timed in the same loop), ``ratio_resnet50``
        (latency / ResNet-50's at the same size, batch and dtype),
        ``ratio_resnet50_fp32`` (/ ResNet-50's fp32 latency), ``cos_sim_fp32``
        (bf16 rows; measured at batch 1)), ``gemm`` (the GEMM rows, with
        ``size``) and ``gemm_peak`` (``{size 'HxW': {dtype: best}}``).
    """
    eager, models = {}, {}
    for name in names:
        base = base_name(name)
        if base not in eager:
            log(f'building {base}')
            eager[base] = build_backbone(base)
        models[name] = eager[base] if name == base else compile_backbone(eager[base])
    rows, grows, peaks = [], [], {}
    for size, batch, reps in zip(sizes, batches, repeats):
        label = f'backbones {size[0]}x{size[1]}'
        gmacs, cos, base_gmacs = {}, {}, {}
        for name, model in models.items():
            x = _backbone_input(name, 1, size)
            # Counted once per network, on the eager module: a compiled twin is the same
            # network, and MMEngine's counter cannot trace a compiled module.
            base = base_name(name)
            if base not in base_gmacs:
                base_gmacs[base] = count_gmacs(eager[base], (x, ))
            gmacs[(name, size)] = base_gmacs[base]
            if 'bf16' in dtypes and 'fp32' in dtypes:
                cos[(name, size)] = cosine_similarity(model, x)
            log(f'{label}: {name} {_fmt(gmacs[(name, size)], ".2f")} GMACs, cosine '
                f'similarity bf16/fp32 {_fmt(cos.get((name, size)), ".5f")}')
        items = backbone_items(models, size, sorted({1, max(batch, 1)}), dtypes)
        gitems = gemm_items(gemm_sizes, dtypes)
        measure_interleaved(gitems + items, warmup, reps, label)
        g = [dict(r, size=list(size)) for r in gemm_rows(gitems)]
        peak = gemm_peak(g)
        grows += g
        peaks[f'{size[0]}x{size[1]}'] = peak
        rows += backbone_rows(items, gmacs, cos, peak)
    return dict(rows=rows, gemm=grows, gemm_peak=peaks)


# ---------------------------------------------------------------- whole models
def load_config(name: str, with_cp: bool = False):
    """The config of a whole model, ready to build on a CPU without downloads.

    Our configs come from ``configs/``; the R50 peers are the stock configs
    shipped in the installed packages (``<package>/.mim/configs``). Backbone
    checkpoints (``init_cfg``, ``pretrained``) are removed.

    Args:
        name (str): A key of ``WHOLE_MODELS``.
        with_cp (bool): Gradient checkpointing in the backbone.

    Returns:
        mmengine.Config: The config; ``default_scope`` is ``'mmdet'`` or ``'mmseg'``.
    """
    from mmengine.config import Config
    scope, path, stock = WHOLE_MODELS[name]
    if stock:
        path = osp.join(osp.dirname(__import__(scope).__file__), '.mim', 'configs', path)
    else:
        path = osp.join(CONFIG_DIR, path)
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    if 'pretrained' in cfg.model:
        cfg.model.pretrained = None
    if with_cp:
        cfg.model.backbone.with_cp = True
    cfg.default_scope = scope
    return cfg


def build_whole_model(name: str, with_cp: bool = False) -> nn.Module:
    """Build and initialise a whole model (SyncBN turned into BN, as MMEngine's
    runner does outside distributed runs)."""
    import mmconvmlp  # noqa: F401  (registers mmconvmlp.ConvMLP)
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope
    cfg = load_config(name, with_cp)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(copy.deepcopy(cfg.model))
        # Initialised as a training run starts (e.g. RetinaNet's classifier prior),
        # so post-processing sees realistic score distributions.
        model.init_weights()
    return revert_sync_batchnorm(model)


def make_batch(scope: str, size: Tuple[int, int], batch: int) -> dict:
    """A data batch as the data loader packs it: uint8 CHW images and data samples
    with ground truth (3 boxes per image for detection, a label map over 150
    classes with some ignored pixels for segmentation).

    Args:
        scope (str): ``'mmdet'`` or ``'mmseg'``.
        size (tuple[int, int]): Image size ``(H, W)``.
        batch (int): Images.

    Returns:
        dict: ``inputs`` (list of uint8 tensors (3, H, W)) and ``data_samples``.
    """
    if scope == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        return demo_mm_inputs(batch_size=batch, image_shapes=[(3, *size)] * batch,
                              num_items=[3] * batch, num_classes=80)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        label = torch.randint(0, 150, (1, *size), generator=g)
        label[:, :8] = 255
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def make_optim_wrapper(model: nn.Module, dtype: str):
    """AdamW (the configs' optimizer) in MMEngine's ``OptimWrapper``, or in
    ``CPUAmpOptimWrapper`` (bf16 autocast of the forward pass and the loss, as
    ``tools/train.py --amp`` on a CPU) for ``dtype='bf16'``."""
    from mmengine.optim import OptimWrapper
    from mmconvmlp.utils import CPUAmpOptimWrapper
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    if dtype == 'bf16':
        return CPUAmpOptimWrapper(optimizer=optimizer)
    return OptimWrapper(optimizer=optimizer)


def train_step_fn(model: nn.Module, data: dict, optim_wrapper) -> Callable[[], float]:
    """One ``train_step`` (forward, loss, backward, optimizer step); the copy of
    the batch is not timed."""
    def run() -> float:
        model.train()
        batch = copy.deepcopy(data)
        start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        return time.perf_counter() - start
    return run


def infer_fn(model: nn.Module, data: dict, scope: str, dtype: str) -> Callable[[], float]:
    """One ``test_step`` (pre-processing, forward, post-processing); the copy of
    the batch is not timed."""
    def run() -> float:
        model.eval()
        batch = copy.deepcopy(data)
        ctx = autocast_submodules(model, AUTOCAST_MODULES[scope]) if dtype == 'bf16' \
            else contextlib.nullcontext()
        start = time.perf_counter()
        with torch.no_grad(), ctx:
            model.test_step(batch)
        return time.perf_counter() - start
    return run


class _TensorMode(nn.Module):
    """``model(inputs, mode='tensor')``: the network without post-processing."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, mode='tensor')


def run_models(names: Sequence[str], det_size: Tuple[int, int], seg_size: Tuple[int, int],
               batch: int, dtypes: Sequence[str], repeats: int, warmup: int) -> dict:
    """The ``models`` section: inference and one training step of each whole
    model, all in one interleaved loop.

    Args:
        names (Sequence[str]): Keys of ``WHOLE_MODELS``.
        det_size (tuple[int, int]): Detection image size ``(H, W)``.
        seg_size (tuple[int, int]): Segmentation image size ``(H, W)``.
        batch (int): Images per step.
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'``.
        repeats (int): Timed repeats.
        warmup (int): Untimed runs of each configuration.

    Returns:
        dict: ``rows``, one per model, mode (``'infer'``, ``'train'``) and dtype:
        ``gmacs`` (network forward without post-processing, for the batch),
        ``latency_s`` (median), ``times_s``, ``throughput_img_s``,
        ``ratio_r50`` (latency / the R50 peer's, same mode and dtype),
        ``ratio_r50_fp32`` (/ the peer's fp32 latency), ``bf16_speedup``
        (bf16 rows: fp32 latency / bf16 latency of the same model and mode).
    """
    items, gmacs = [], {}
    for name in names:
        scope = WHOLE_MODELS[name][0]
        size = det_size if scope == 'mmdet' else seg_size
        log(f'building {name}')
        model = build_whole_model(name)
        data = make_batch(scope, size, batch)
        model.eval()
        with torch.no_grad():
            inputs = model.data_preprocessor(copy.deepcopy(data), False)['inputs']
        gmacs[name] = count_gmacs(_TensorMode(model), (inputs, ))
        log(f'{name}: {_fmt(gmacs[name], ".1f")} GMACs at {size[0]}x{size[1]}, batch {batch}')
        for mode in ('infer', 'train'):
            for dtype in dtypes:
                key = dict(section='model', model=name, task=scope[2:], size=list(size),
                           batch=batch, mode=mode, dtype=dtype)
                if mode == 'infer':
                    run = infer_fn(model, data, scope, dtype)
                else:
                    run = train_step_fn(model, data, make_optim_wrapper(model, dtype))
                items.append(Item(key, run))
    measure_interleaved(items, warmup, repeats, 'models')
    by_key = {(i.key['model'], i.key['mode'], i.key['dtype']): i.median for i in items}
    rows = []
    for item in items:
        k, t = item.key, item.median
        peer = PEERS.get(k['model'], k['model'])
        ref = by_key.get((peer, k['mode'], k['dtype']))
        ref32 = by_key.get((peer, k['mode'], 'fp32'))
        own32 = by_key.get((k['model'], k['mode'], 'fp32'))
        rows.append(dict(
            k, gmacs=gmacs[k['model']], latency_s=t, times_s=item.times, min_s=min(item.times),
            throughput_img_s=k['batch'] / t,
            ratio_r50=t / ref if ref else None, ratio_r50_fp32=t / ref32 if ref32 else None,
            bf16_speedup=own32 / t if k['dtype'] == 'bf16' and own32 else None))
    return dict(rows=rows)


# ---------------------------------------------------------------------- memory
def _rss_kib() -> Tuple[int, Optional[int]]:
    """(current resident set, high-water mark) in KiB from /proc/self/status."""
    rss, hwm = None, None
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
            elif line.startswith('VmHWM:'):
                hwm = int(line.split()[1])
    return rss, hwm


def memory_worker(name: str, with_cp: bool, size: Tuple[int, int], batch: int,
                  threads: int) -> dict:
    """Measure one training step's peak memory (run it in a fresh process).

    The high-water mark is reset (``/proc/self/clear_refs``, Linux) after the
    model and the batch are built, so the peak is the step's; where that is not
    possible, ``ru_maxrss`` (the process's peak since it started) is used.

    Args:
        name (str): A key of ``WHOLE_MODELS``.
        with_cp (bool): Gradient checkpointing in the backbone.
        size (tuple[int, int]): Image size ``(H, W)``.
        batch (int): Images.
        threads (int): Intra-op threads.

    Returns:
        dict: ``rss_before_mib`` (resident memory before the step), ``peak_mib``
        (the peak resident memory during the step), ``step_mib`` (peak - before:
        what the step itself takes: activations, gradients, AdamW state),
        ``step_s`` (its duration), ``peak_source``.
    """
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    _quiet_mmengine()
    scope = WHOLE_MODELS[name][0]
    model = build_whole_model(name, with_cp=with_cp)
    data = make_batch(scope, size, batch)
    optim_wrapper = make_optim_wrapper(model, 'fp32')
    model.train()
    source = 'VmHWM after clear_refs'
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current VmRSS
    except OSError:
        source = 'ru_maxrss'
    before, _ = _rss_kib()
    start = time.perf_counter()
    model.train_step(data, optim_wrapper)
    step_s = time.perf_counter() - start
    if source == 'ru_maxrss':
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    else:
        peak = _rss_kib()[1]
    return dict(rss_before_mib=before / 1024, peak_mib=peak / 1024,
                step_mib=(peak - before) / 1024, step_s=step_s, peak_source=source)


def run_memory(size: Tuple[int, int], batch: int, threads: int,
               name: str = 'retinanet-convmlp-s') -> dict:
    """The ``memory`` section: :func:`memory_worker` in a fresh process for
    ``with_cp`` False and True.

    Returns:
        dict: ``rows`` (one per ``with_cp``: ``model``, ``size``, ``batch``,
        ``with_cp`` and the worker's fields), ``saving_mib`` (how much lower the
        step's peak is with ``with_cp``: difference of ``peak_mib``) and
        ``saving_fraction`` (of the peak without it); None when a run failed.

    Raises:
        RuntimeError: A worker process failed.
    """
    rows = []
    for with_cp in (False, True):
        log(f'memory: {name} {size[0]}x{size[1]} batch {batch} with_cp={with_cp} '
            '(fresh process)')
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'result.json')
            code = ('import json, sys; from mmconvmlp.benchmark import memory_worker; '
                    'r = memory_worker(*json.loads(sys.argv[1])); '
                    'json.dump(r, open(sys.argv[2], "w"))')
            args = json.dumps([name, with_cp, list(size), batch, threads])
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
            proc = subprocess.run([sys.executable, '-c', code, args, out], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f'memory worker (with_cp={with_cp}) failed:\n'
                                   f'{proc.stdout[-3000:]}')
            with open(out) as f:
                result = json.load(f)
        rows.append(dict(section='memory', model=name, size=list(size), batch=batch,
                         with_cp=with_cp, **result))
        log(f'memory: with_cp={with_cp}: peak {result["peak_mib"]:.0f} MiB, '
            f'step {result["step_mib"]:.0f} MiB, {result["step_s"]:.2f} s')
    off, on = rows
    saving = off['peak_mib'] - on['peak_mib']
    return dict(rows=rows, saving_mib=saving, saving_fraction=saving / off['peak_mib'],
                step_saving_fraction=(off['step_mib'] - on['step_mib']) / off['step_mib'])


# --------------------------------------------------------------------- targets
def evaluate_targets(results: dict) -> List[dict]:
    """Check the issue's targets against the results.

    The backbone targets use 800x1216, batch 1 when it was measured, else the
    largest size measured (then ``size`` says so, and the numbers are no check
    of the targets).

    Returns:
        list[dict]: ``name``, ``value``, ``op`` (``'<='``, ``'>='``, ``'>'``),
        ``threshold``, ``met`` (None when not measured), ``size``.
    """
    targets = []

    def add(name, value, op, threshold, size=None):
        met = None
        if value is not None:
            met = {'<=': value <= threshold, '>=': value >= threshold,
                   '>': value > threshold}[op]
        targets.append(dict(name=name, value=value, op=op, threshold=threshold, met=met,
                            size=size))

    rows = results.get('backbones', {}).get('rows', [])
    if rows:
        sizes = sorted({tuple(r['size']) for r in rows}, key=lambda s: s[0] * s[1])
        size = TARGET_SIZE if TARGET_SIZE in sizes else sizes[-1]

        def get(model, dtype, field_):
            for r in rows:
                if (r['model'], tuple(r['size']), r['batch'], r['dtype']) == \
                        (model, size, 1, dtype):
                    return r.get(field_)
            return None

        tag = f'{size[0]}x{size[1]}'
        for model in ('convmlp-s', 'convmlp-s' + COMPILED):
            if get(model, 'fp32', 'latency_s') is None and model != 'convmlp-s':
                continue
            how = ' (torch.compile, both)' if model.endswith(COMPILED) else ''
            add(f'ConvMLP-S fp32 latency / ResNet-50 fp32 latency{how}',
                get(model, 'fp32', 'ratio_resnet50_fp32'), '<=', 0.40, tag)
            add(f'ConvMLP-S bf16 latency / ResNet-50 fp32 latency{how}',
                get(model, 'bf16', 'ratio_resnet50_fp32'), '<=', 0.15, tag)
            add(f'ConvMLP-S bf16 outputs: cosine similarity to fp32{how}',
                get(model, 'bf16', 'cos_sim_fp32'), '>=', 0.999, tag)
            add(f'ConvMLP-S fp32 GFLOP/s / fp32 GEMM peak{how}',
                get(model, 'fp32', 'peak_fraction'), '>=', 0.85, tag)
    mrows = results.get('models', {}).get('rows', [])
    for r in mrows:
        if r['mode'] == 'train' and r['dtype'] == 'bf16' and r['model'] in PEERS:
            add(f'{r["model"]} training step: fp32 time / bf16 time',
                r['bf16_speedup'], '>', 1.0, 'x'.join(map(str, r['size'])))
    mem = results.get('memory')
    if mem:
        r = mem['rows'][0]
        add('with_cp: peak memory saving of a RetinaNet-S step (MiB)', mem['saving_mib'],
            '>', 0.0, 'x'.join(map(str, r['size'])))
    return targets


# ----------------------------------------------------------------------- table
def _fmt(v, spec: str = '.3f', none: str = '-') -> str:
    if v is None:
        return none
    return format(v, spec)


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    out = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    out += ['| ' + ' | '.join(line) + ' |' for line in lines]
    return '\n'.join(out)


def format_tables(results: dict) -> str:
    """The results as Markdown tables (machine, GEMM peak, backbones, whole
    models, memory, targets)."""
    m = results['machine']
    parts = [f'Machine: {m["cpu"]}, {m["cores"]} cores, ISA {" ".join(m["isa"])}; '
             f'{m["threads"]} threads; torch {m["torch"]} (oneDNN {m["onednn"]}), '
             f'mmengine {m["mmengine"]}, mmcv {m["mmcv"]}, mmdet {m["mmdet"]}, '
             f'mmseg {m["mmseg"]}. Medians of {results["settings"]["repeats_desc"]} '
             f'repeats, runs interleaved.']
    load = {k: v for k, v in results.get('other_load', {}).items() if v is not None}
    if load:
        parts[0] += (' CPU share taken by other processes during the sections: ' +
                     ', '.join(f'{k} {v * 100:.0f} %' for k, v in load.items()) + '.')
    bb = results.get('backbones')
    if bb:
        parts.append('GEMM (M = N = K = n), per image-size loop:\n\n' + _table(
            ['loop', 'GEMM', 'n', 'dtype', 'ms', 'GFLOP/s'],
            [['x'.join(map(str, g['size'])), g['gemm'], str(g['n']), g['dtype'],
              _fmt(g['latency_s'] * 1e3, '.1f'), _fmt(g['gflops'], '.0f')]
             for g in bb['gemm']]))
        parts.append('Backbones (forward pass, inference):\n\n' + _table(
            ['backbone', 'size', 'batch', 'dtype', 'GMACs', 'latency ms', 'img/s',
             'GFLOP/s', '% GEMM peak', 'x ResNet-50', 'x ResNet-50 fp32', 'cos bf16/fp32'],
            [[r['model'], 'x'.join(map(str, r['size'])), str(r['batch']), r['dtype'],
              _fmt(r['gmacs'], '.2f'), _fmt(r['latency_s'] * 1e3, '.1f'),
              _fmt(r['throughput_img_s'], '.2f'), _fmt(r['gflops'], '.0f'),
              _fmt(r['peak_fraction'] * 100 if r['peak_fraction'] is not None else None,
                   '.0f'),
              _fmt(r['ratio_resnet50'], '.2f'), _fmt(r['ratio_resnet50_fp32'], '.2f'),
              _fmt(r['cos_sim_fp32'], '.5f')] for r in bb['rows']]))
    mo = results.get('models')
    if mo:
        parts.append('Whole models (inference = test_step with post-processing; train = '
                     'one train_step with AdamW):\n\n' + _table(
                         ['model', 'size', 'batch', 'mode', 'dtype', 'GMACs', 'ms',
                          'img/s', 'x R50 peer', 'x R50 peer fp32', 'bf16 speed-up'],
                         [[r['model'], 'x'.join(map(str, r['size'])), str(r['batch']),
                           r['mode'], r['dtype'], _fmt(r['gmacs'], '.1f'),
                           _fmt(r['latency_s'] * 1e3, '.0f'),
                           _fmt(r['throughput_img_s'], '.2f'), _fmt(r['ratio_r50'], '.2f'),
                           _fmt(r['ratio_r50_fp32'], '.2f'), _fmt(r['bf16_speedup'], '.2f')]
                          for r in mo['rows']]))
    me = results.get('memory')
    if me:
        parts.append('Peak memory of one training step (fp32, fresh process each):\n\n' +
                     _table(['model', 'size', 'batch', 'with_cp', 'RSS before MiB',
                             'peak RSS MiB', 'step (peak - before) MiB', 'step s'],
                            [[r['model'], 'x'.join(map(str, r['size'])), str(r['batch']),
                              str(r['with_cp']), _fmt(r['rss_before_mib'], '.0f'),
                              _fmt(r['peak_mib'], '.0f'), _fmt(r['step_mib'], '.0f'),
                              _fmt(r['step_s'], '.2f')] for r in me['rows']]) +
                     f'\n\nwith_cp lowers the peak by {me["saving_mib"]:.0f} MiB '
                     f'({me["saving_fraction"] * 100:.1f} % of the peak RSS, '
                     f'{me["step_saving_fraction"] * 100:.1f} % of the step\'s own memory).')
    tg = results.get('targets')
    if tg:
        parts.append('Targets:\n\n' + _table(
            ['target', 'size', 'measured', 'required', 'met'],
            [[t['name'], str(t['size']), _fmt(t['value'], '.4f'),
              f'{t["op"]} {t["threshold"]}',
              {True: 'yes', False: 'NO', None: 'not measured'}[t['met']]] for t in tg]))
    return '\n\n'.join(parts) + '\n'


# ------------------------------------------------------------------------- CLI
def _size(text: str) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is HxW, e.g. 800x1216; got {text!r}')
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f'sizes must be at least 32x32, got {text!r}')
    return h, w


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of ``tools/benchmark.py`` (see its ``--help``)."""
    cores = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(
        prog='tools/benchmark.py',
        description='CPU benchmark of ConvMLP against ResNet-50 and Swin-T: backbones, '
        'whole models (RetinaNet, Semantic FPN) and the training memory of with_cp. '
        'Prints Markdown tables, or JSON with --json; progress goes to stderr.')
    p.add_argument('--json', action='store_true', help='print the results as JSON')
    p.add_argument('--quick', action='store_true',
                   help='tiny run for tests: 224x224 (batch 1 and 2), detection 128x128, '
                   'segmentation 64x64, no warm-up, 1 repeat, GEMM n=512; explicit options '
                   'still win')
    p.add_argument('--only', nargs='+', choices=SECTIONS, default=None,
                   help='sections to run (default: all)')
    p.add_argument('--sizes', nargs='+', type=_size, default=None,
                   help='backbone image sizes HxW (default: 224x224 800x1216)')
    p.add_argument('--batch', nargs='+', type=int, default=None,
                   help='the larger backbone batch, one per size or one for all (batch 1 '
                   'always runs; default: 8 at 224x224, 2 at 800x1216)')
    p.add_argument('--repeats', type=int, default=None,
                   help='timed repeats of every configuration (default: 5 for images of up '
                   'to 300,000 pixels such as 224x224, else 3; 3 for the whole models; 1 '
                   'with --quick)')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed runs of every configuration first (default: 1; 0 with --quick)')
    p.add_argument('--threads', type=int, default=cores,
                   help=f'intra-op threads, torch.set_num_threads (default: the cores '
                   f'this process may use, here {cores})')
    p.add_argument('--dtypes', nargs='+', choices=DTYPES, default=list(DTYPES),
                   help='fp32 and/or bf16 autocast (default: both)')
    p.add_argument('--backbones', nargs='+', choices=BACKBONES, default=list(BACKBONES),
                   help='backbones to time (default: all; resnet50 is the reference of '
                   'the ratios; resnet50-cl is ResNet-50 fed channels-last images)')
    p.add_argument('--compile', action='store_true',
                   help='also time each backbone under torch.compile with Inductor freezing '
                   '(rows NAME+compile, ratios to resnet50+compile; compiles each size, '
                   'batch and dtype once during the warm-up, about 20 s each)')
    p.add_argument('--det-size', type=_size, default=None,
                   help='RetinaNet image size (default: 800x1216; memory uses it too)')
    p.add_argument('--seg-size', type=_size, default=None,
                   help='Semantic FPN image size (default: 512x512, the ADE20K crop)')
    p.add_argument('--model-batch', type=int, default=1,
                   help='images per whole-model step, also for memory (default: 1)')
    p.add_argument('--gemm-sizes', nargs='+', type=int, default=None,
                   help='square GEMM sizes of the peak measurement (default: 2048)')
    args = p.parse_args(argv)

    q = args.quick
    args.sections = list(args.only) if args.only else list(SECTIONS)
    if args.sizes is None:
        args.sizes = [(224, 224)] if q else [(224, 224), TARGET_SIZE]
    if args.batch is None:
        args.batch = [2 if q else (8 if s[0] * s[1] <= 300_000 else 2) for s in args.sizes]
    elif len(args.batch) == 1:
        args.batch = args.batch * len(args.sizes)
    if len(args.batch) != len(args.sizes):
        p.error(f'--batch takes one value or one per size ({len(args.sizes)})')
    if args.repeats is None:
        args.size_repeats = [1 if q else default_repeats(s) for s in args.sizes]
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
    args.det_size = args.det_size or ((128, 128) if q else TARGET_SIZE)
    args.seg_size = args.seg_size or ((64, 64) if q else (512, 512))
    args.gemm_sizes = args.gemm_sizes or ([512] if q else [2048])
    if 'backbones' in args.sections and REFERENCE not in args.backbones:
        args.backbones = [REFERENCE] + list(args.backbones)
    if args.compile:
        args.backbones = list(args.backbones) + [n + COMPILED for n in args.backbones]
    return args


def _quiet_mmengine() -> None:
    """Drop MMEngine's INFO messages (``init_weights`` logs every parameter):
    ``print_log(logger='current')`` uses the MMLogger created last."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmconvmlp_benchmark', log_level='WARNING')


def run(args: argparse.Namespace) -> dict:
    """Run the sections chosen by ``args`` (from :func:`parse_args`).

    Returns:
        dict: ``machine``, ``settings``, one entry per section run (see
        :func:`run_backbones`, :func:`run_models`, :func:`run_memory`),
        ``other_load`` (per section, the CPU share other processes took while it
        ran, see :class:`OtherLoad`), ``targets`` (:func:`evaluate_targets`) and
        ``total_s``.
    """
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    reps = []
    if 'backbones' in args.sections:
        reps.append(', '.join(f'{r} at {s[0]}x{s[1]}'
                              for r, s in zip(args.size_repeats, args.sizes)) + ' (backbones)')
    if 'models' in args.sections:
        reps.append(f'{args.model_repeats} (whole models)')
    results = dict(machine=machine_info(args.threads), settings=dict(
        sections=args.sections, sizes=[list(s) for s in args.sizes], batch=args.batch,
        size_repeats=args.size_repeats, model_repeats=args.model_repeats,
        warmup=args.warmup, dtypes=args.dtypes, det_size=list(args.det_size),
        seg_size=list(args.seg_size), model_batch=args.model_batch,
        gemm_sizes=args.gemm_sizes, quick=args.quick, compile=args.compile,
        repeats_desc=', '.join(reps) or 'no timed repeats'))
    log(f'machine: {results["machine"]}')
    _quiet_mmengine()
    torch.manual_seed(0)
    other = {}
    if 'backbones' in args.sections:
        with OtherLoad() as other['backbones']:
            results['backbones'] = run_backbones(args.backbones, args.sizes, args.batch,
                                                 args.dtypes, args.size_repeats, args.warmup,
                                                 args.gemm_sizes)
    if 'models' in args.sections:
        with OtherLoad() as other['models']:
            results['models'] = run_models(list(WHOLE_MODELS), args.det_size, args.seg_size,
                                           args.model_batch, args.dtypes, args.model_repeats,
                                           args.warmup)
    if 'memory' in args.sections:
        with OtherLoad() as other['memory']:
            results['memory'] = run_memory(args.det_size, args.model_batch, args.threads)
    # Other processes' share of the CPUs while each section ran (0 = none): the
    # timings of a section that shared the machine are slower than the machine.
    results['other_load'] = {k: v.fraction for k, v in other.items()}
    results['targets'] = evaluate_targets(results)
    results['total_s'] = time.perf_counter() - start
    log(f'done in {results["total_s"]:.0f} s')
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``tools/benchmark.py``: parse, run, print.

    Anything the libraries print to stdout while the benchmark runs (MMEngine's
    logger, warnings) is sent to stderr, so that stdout carries only the table
    or the JSON document.

    Returns:
        int: The exit status (0).
    """
    args = parse_args(argv)
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), 'w')
    saved = os.dup(1)
    os.dup2(2, 1)  # fd level: also catches output of C++ code
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
    out.flush()
    out.close()
    return 0
