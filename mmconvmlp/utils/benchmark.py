# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Small measuring tools for CPU benchmarks of backbones and whole models.

``tools/analysis_tools/benchmark.py`` is built from these; they serve any
other timing script as well:

- :class:`TimedRun`, :func:`timed` and :func:`measure_interleaved`: warm up
  every configuration, then time the repeats round-robin and keep each one,
  so that medians of configurations timed together are comparable;
- :func:`gemm_runs`, :func:`gemm_rows` and :func:`gemm_peak`: the speed of
  square matrix products, the practical peak of the CPU per dtype;
- :func:`count_gmacs`: multiply-adds of a forward pass by MMEngine's counter;
- :func:`bf16_cosine_similarity`: how close bfloat16 autocast outputs stay to
  the float32 ones;
- :func:`peak_rss_of_step`: the peak resident memory one step adds;
- :class:`OtherLoad`: how much of the CPUs other processes took meanwhile;
- :func:`machine_info`: the CPU (ISA, native bfloat16) and the versions;
- :func:`compile_for_inference`, :func:`runtime_runs` and
  :func:`runtime_rows`: one backbone on eager PyTorch, ``torch.compile``,
  ONNX Runtime and OpenVINO, timed in the same loop.

Units: seconds, GMACs (1e9 multiply-adds), GFLOP/s (1e9 floating-point
operations per second, two per multiply-add) and MiB (2**20 bytes).
"""
import contextlib
import importlib.util
import math
import os
import os.path as osp
import platform
import re
import resource
import statistics
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cpu import cpu_info

#: The dtypes the helpers take: float32, and bfloat16 autocast.
DTYPES = ('fp32', 'bf16')


@dataclass
class TimedRun:
    """One configuration to time.

    Attributes:
        key (dict): What identifies it in the results (model, size, dtype...).
        run (Callable[[], float]): Runs it once and returns the seconds to
            count (so it may leave its own set-up, e.g. copying a batch, out).
        times (list[float]): The timed repeats in seconds, in order.
    """
    key: dict
    run: Callable[[], float]
    times: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median of :attr:`times` in seconds.

        Raises:
            statistics.StatisticsError: Nothing was timed yet.
        """
        return statistics.median(self.times)


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """Wrap ``fn`` into a callable that returns its wall-clock seconds."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def measure_interleaved(runs: Sequence[TimedRun],
                        warmup: int,
                        repeats: int,
                        log: Optional[Callable[[str], None]] = None,
                        label: str = '') -> None:
    """Time every run ``repeats`` times, interleaved, after ``warmup`` each.

    All warm-ups come first (oneDNN creates its kernels and the allocator its
    pools on a first call). Then round r times every run once, odd rounds in
    reverse order: a drift of the machine's speed (other jobs, clocks) slows
    the first and the last runs alike instead of whichever came last. The
    times are appended to ``run.times``.

    Args:
        runs (Sequence[TimedRun]): The configurations.
        warmup (int): Untimed calls of each run first, >= 0.
        repeats (int): Timed calls of each run, >= 1.
        log (Callable[[str], None], optional): Receives a progress line
            after the warm-up and after each round. Defaults to None.
        label (str): Starts the progress lines. Defaults to ``''``.

    Raises:
        ValueError: ``warmup`` < 0 or ``repeats`` < 1.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f'need warmup >= 0 and repeats >= 1, got {warmup} '
                         f'and {repeats}')
    say = log or (lambda msg: None)
    if warmup:
        start = time.perf_counter()
        for item in runs:
            for _ in range(warmup):
                item.run()
        say(f'{label} warm-up of {len(runs)} configurations took '
            f'{time.perf_counter() - start:.1f} s')
    for r in range(repeats):
        start = time.perf_counter()
        for item in (runs if r % 2 == 0 else list(reversed(runs))):
            item.times.append(item.run())
        say(f'{label} repeat {r + 1}/{repeats} took '
            f'{time.perf_counter() - start:.1f} s')


def autocast(dtype: str):
    """The context a forward pass in ``dtype`` runs in.

    Args:
        dtype (str): ``'fp32'`` (no autocast) or ``'bf16'`` (CPU bfloat16
            autocast: matrix products and convolutions in bfloat16).

    Returns:
        contextlib.AbstractContextManager: The context.

    Raises:
        ValueError: Another dtype.
    """
    if dtype == 'bf16':
        return torch.autocast('cpu', dtype=torch.bfloat16)
    if dtype == 'fp32':
        return contextlib.nullcontext()
    raise ValueError(f'dtype must be one of {DTYPES}, got {dtype!r}')


# ----------------------------------------------------------------- GEMM peak
def gemm_runs(sizes: Sequence[int], dtypes: Sequence[str]) -> List[TimedRun]:
    """Square GEMMs (M = N = K = n) in both implementations torch has on CPU.

    ``torch.mm`` runs in MKL's BLAS; a 1x1 convolution over a channels-last
    map is the same GEMM in oneDNN, which runs all convolutions. Time them
    with :func:`measure_interleaved`, in the same loop as the networks they
    are compared with, then read :func:`gemm_rows` and :func:`gemm_peak`.

    Args:
        sizes (Sequence[int]): Values of n, >= 1 (e.g. 2048).
        dtypes (Sequence[str]): ``'fp32'`` and/or ``'bf16'``.

    Returns:
        list[TimedRun]: Keys ``gemm`` (``'mm'`` or ``'conv1x1'``), ``n`` and
        ``dtype``.
    """
    runs = []
    g = torch.Generator().manual_seed(0)
    for n in sizes:
        for dtype in dtypes:
            tdtype = torch.bfloat16 if dtype == 'bf16' else torch.float32
            a = torch.randn(n, n, generator=g).to(tdtype)
            b = torch.randn(n, n, generator=g).to(tdtype)
            runs.append(
                TimedRun(
                    dict(gemm='mm', n=n, dtype=dtype),
                    timed(lambda a=a, b=b: torch.mm(a, b))))
            # An (h, n // h) map holds n pixels: the GEMM's M.
            h = 2**(int(math.log2(n)) // 2)
            x = torch.randn(1, n, h, n // h, generator=g).to(tdtype)
            x = x.contiguous(memory_format=torch.channels_last)
            w = torch.randn(n, n, 1, 1, generator=g).to(tdtype)
            runs.append(
                TimedRun(
                    dict(gemm='conv1x1', n=n, dtype=dtype),
                    timed(lambda x=x, w=w: F.conv2d(x, w))))
    return runs


def gemm_rows(runs: Sequence[TimedRun]) -> List[dict]:
    """Result rows of timed :func:`gemm_runs`.

    Returns:
        list[dict]: The key plus ``latency_s`` (median), ``times_s``,
        ``min_s`` and ``gflops`` (2 n^3 / latency / 1e9). For an n that is not
        a power of 2 the conv1x1 map holds fewer than n pixels, so its
        ``gflops`` is a lower bound.
    """
    rows = []
    for item in runs:
        n = item.key['n']
        rows.append(
            dict(
                item.key,
                latency_s=item.median,
                times_s=item.times,
                min_s=min(item.times),
                gflops=2 * n**3 / item.median / 1e9))
    return rows


def gemm_peak(rows: Sequence[dict]) -> Dict[str, dict]:
    """The fastest GEMM row per dtype.

    Args:
        rows (Sequence[dict]): From :func:`gemm_rows`.

    Returns:
        dict: ``{dtype: {'gflops', 'gemm', 'n'}}``.
    """
    peak = {}
    for row in rows:
        best = peak.get(row['dtype'])
        if best is None or row['gflops'] > best['gflops']:
            peak[row['dtype']] = dict(
                gflops=row['gflops'], gemm=row['gemm'], n=row['n'])
    return peak


# ------------------------------------------------------- work and precision
def count_gmacs(model: nn.Module, inputs: tuple) -> Optional[float]:
    """Multiply-adds of ``model(*inputs)`` in 1e9, without timing anything.

    Counted by MMEngine's ``FlopAnalyzer`` (the counter behind
    ``get_model_complexity_info``, which calls MACs "flops") in the module's
    current mode, e.g. 2.39 GMACs for an eval-mode ConvMLP-S at 1x3x224x224.

    Args:
        model (nn.Module): The module; it is traced, not compiled.
        inputs (tuple): The positional inputs of one call.

    Returns:
        float | None: GMACs of the whole batch; None, with a warning, when
        the module cannot be traced (e.g. a ``torch.compile`` wrapper).
    """
    from mmengine.analysis import FlopAnalyzer
    try:
        analyzer = FlopAnalyzer(model, inputs)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        with torch.no_grad():
            return analyzer.total() / 1e9
    except Exception as e:  # noqa: BLE001  (a count we cannot make is None)
        warnings.warn(f'cannot count the MACs of {type(model).__name__}: '
                      f'{e!r}')
        return None


def _flat_tensors(outs) -> List[torch.Tensor]:
    if isinstance(outs, torch.Tensor):
        return [outs]
    if isinstance(outs, dict):
        outs = list(outs.values())
    return [t for o in outs for t in _flat_tensors(o)]


def bf16_cosine_similarity(model: nn.Module, *inputs) -> float:
    """How close bfloat16 autocast outputs stay to the float32 ones.

    Runs ``model(*inputs)`` twice under ``torch.inference_mode``, in float32
    and under CPU bfloat16 autocast, flattens each output tensor and takes
    the cosine similarity of each pair (in float64).

    Args:
        model (nn.Module): Returns a tensor or (nested) tuples, lists or dicts
            of tensors.
        *inputs: The inputs of one call.

    Returns:
        float: The smallest cosine similarity over the output tensors (1.0 is
        identical up to scale).
    """
    with torch.inference_mode():
        ref = _flat_tensors(model(*inputs))
        with autocast('bf16'):
            low = _flat_tensors(model(*inputs))
    return min(
        F.cosine_similarity(r.flatten().double(), o.flatten().double(),
                            dim=0).item() for r, o in zip(ref, low))


# ------------------------------------------------------------------- memory
def _rss_kib() -> tuple:
    """(resident set, its high-water mark) in KiB from /proc/self/status."""
    rss, hwm = None, None
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
            elif line.startswith('VmHWM:'):
                hwm = int(line.split()[1])
    return rss, hwm


def peak_rss_of_step(step: Callable[[], object]) -> dict:
    """The peak resident memory of the process while ``step()`` runs (Linux).

    torch keeps no statistics of CPU allocations, so the resident set is
    read. The high-water mark is reset first (``/proc/self/clear_refs``), so
    the peak is the step's; where that is refused, ``ru_maxrss`` (the peak
    since the process started) stands in, and only a fresh process, with the
    step as its largest work, then gives the step's peak. Build the model,
    the batch and the optimizer before calling this.

    Args:
        step (Callable[[], object]): One step, e.g. a ``train_step``.

    Returns:
        dict: ``rss_before_mib`` (resident memory before the step),
        ``peak_mib`` (the peak during it), ``step_mib`` (peak - before: what
        the step itself takes, e.g. activations, gradients, optimizer state),
        ``step_s`` (its seconds) and ``peak_source`` (``'VmHWM after
        clear_refs'`` or ``'ru_maxrss'``).

    Raises:
        OSError: ``/proc/self/status`` cannot be read (not Linux).
    """
    source = 'VmHWM after clear_refs'
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current VmRSS
    except OSError:
        source = 'ru_maxrss'
    before, _ = _rss_kib()
    start = time.perf_counter()
    step()
    step_s = time.perf_counter() - start
    if source == 'ru_maxrss':
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    else:
        peak = _rss_kib()[1]
    return dict(
        rss_before_mib=before / 1024,
        peak_mib=peak / 1024,
        step_mib=(peak - before) / 1024,
        step_s=step_s,
        peak_source=source)


# ------------------------------------------------------------------ machine
class OtherLoad:
    """Context manager: how busy other processes kept the CPUs meanwhile.

    A timing on a shared machine is only as good as the CPU time it got: the
    CPU time all processes used (``/proc/stat``) minus this process's own
    (``os.times``, children included), over the block's wall time.

    Attributes:
        fraction (float | None): CPU time of other processes / (wall time x
            CPUs): 0 on an idle machine, 0.5 when others kept one of two cores
            busy. None before the block ends or where ``/proc/stat`` cannot be
            read.

    Example:
        >>> with OtherLoad() as load:
        ...     run_the_benchmark()
        >>> load.fraction
        0.01
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
        # user nice system idle iowait irq softirq steal: all but idle, iowait
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
        wall = time.perf_counter() - wall0
        if busy0 is None or busy1 is None or wall <= 0:
            return
        other = (busy1 - busy0) - (self._own_s() - own0)
        self.fraction = max(0.0, other / (wall * (os.cpu_count() or 1)))


def machine_info(threads: Optional[int] = None) -> dict:
    """The CPU and the software stack that measurements come from.

    Args:
        threads (int, optional): The intra-op thread count in use. Defaults
            to ``torch.get_num_threads()``.

    Returns:
        dict: ``cpu`` (model name), ``cores`` (CPUs this process may use),
        ``hardware_isa`` (AMX / AVX512-BF16 / AVX-512 / AVX2 as the CPU lists
        them), ``torch_isa`` (the ISA of torch's kernels,
        ``torch.backends.cpu.get_cpu_capability()``), ``bf16_native``
        (bfloat16 in hardware, see :func:`mmconvmlp.utils.has_native_bf16`;
        False means emulated and slow), ``onednn_max_cpu_isa`` and
        ``aten_cpu_capability`` (the restrictions in the environment, or
        None), ``omp_wait_policy`` (``OMP_WAIT_POLICY``, or None: OpenMP's
        idle threads spin, which on a loaded machine slows torch down
        several-fold), ``threads``, ``python``, ``torch``, ``onednn`` and
        the versions of mmengine, mmcv, mmdet and mmseg (None when not
        installed).
    """
    info = cpu_info()
    versions = {}
    for mod in ('mmengine', 'mmcv', 'mmdet', 'mmseg'):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001  (a missing package is None)
            versions[mod] = None
    # torch has no API for oneDNN's version; its build summary names it.
    onednn = re.search(r'MKL-DNN v([\d.]+)', torch.__config__.show())
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = info['cores']
    return dict(
        cpu=info['model'],
        cores=cores,
        hardware_isa=info['hardware_isa'],
        torch_isa=info['torch_isa'],
        bf16_native=info['native_bf16'],
        onednn_max_cpu_isa=info['onednn_max_cpu_isa'],
        aten_cpu_capability=info['aten_cpu_capability'],
        omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
        threads=threads or torch.get_num_threads(),
        python=platform.python_version(),
        torch=torch.__version__,
        onednn=onednn.group(1) if onednn else None,
        **versions)


# ----------------------------------------------------------------- runtimes
#: The runtimes :func:`runtime_runs` times: eager PyTorch, ``torch.compile``
#: (Inductor, freezing), ONNX Runtime and OpenVINO on the exported file.
RUNTIMES = ('eager', 'compile', 'onnxruntime', 'openvino')
#: The packages each runtime needs besides torch.
RUNTIME_PACKAGES = {
    'onnxruntime': ('onnx', 'onnxruntime'),
    'openvino': ('onnx', 'openvino')
}


def compile_for_inference(model: nn.Module) -> nn.Module:
    """``torch.compile`` a module for inference, with Inductor's freezing.

    Freezing makes the parameters constants, so BatchNorms fold, weights are
    pre-packed for oneDNN and activations fuse into the convolutions and
    GEMMs: inference only. Shapes are static (``dynamic=False``): each size,
    batch and dtype compiles once, on its first call; torch 2.13's Inductor
    does not lower convolutions over symbolic sizes.
    """
    import torch._inductor.config as inductor_config
    inductor_config.freezing = True
    return torch.compile(model, dynamic=False)


def missing_runtimes(runtimes: Sequence[str]) -> Dict[str, str]:
    """The runtimes of ``runtimes`` whose packages are not installed.

    Returns:
        dict: Runtime -> the missing package names, comma-separated.
    """
    out = {}
    for rt in runtimes:
        gone = [
            p for p in RUNTIME_PACKAGES.get(rt, ())
            if importlib.util.find_spec(p) is None
        ]
        if gone:
            out[rt] = ', '.join(gone)
    return out


def _max_error(ref: Sequence[torch.Tensor], outs: Sequence) -> float:
    """``max |out - ref| / max(1, max |ref|)`` over the outputs."""
    err = 0.0
    for r, o in zip(ref, outs):
        o = torch.as_tensor(o).to(r.dtype)
        scale = max(1.0, r.abs().max().item())
        err = max(err, (o - r).abs().max().item() / scale)
    return err


def runtime_runs(model: nn.Module, name: str, inputs: Sequence[torch.Tensor],
                 runtimes: Sequence[str], threads: int,
                 workdir: str) -> List[TimedRun]:
    """One backbone on several runtimes, float32, ready to time together.

    The ONNX runtimes run one file exported with dynamic batch, height and
    width (:func:`mmconvmlp.deployment.export_onnx`), the same graph for
    every size; ``compile`` compiles each size on its first call (the
    warm-up). Every runtime is run once here and its outputs compared with
    eager PyTorch's (``max_error`` in each key: ``max |out - eager| /
    max(1, max |eager|)``).

    Args:
        model (nn.Module): The backbone, in eval mode.
        name (str): Its name in the keys.
        inputs (Sequence[Tensor]): One (N, 3, H, W) batch per size.
        runtimes (Sequence[str]): From :data:`RUNTIMES`, installed (see
            :func:`missing_runtimes`).
        threads (int): torch's threads (set by the caller), ONNX Runtime's
            ``intra_op_num_threads`` and OpenVINO's
            ``INFERENCE_NUM_THREADS``.
        workdir (str): Where the ONNX file is written.

    Returns:
        list[TimedRun]: Keys ``model``, ``runtime``, ``size``, ``batch``,
        ``dtype`` (``'fp32'``), ``threads`` and ``max_error``.

    Raises:
        ValueError: An unknown runtime.
    """
    unknown = set(runtimes) - set(RUNTIMES)
    if unknown:
        raise ValueError(f'unknown runtimes {sorted(unknown)}; choose from '
                         f'{RUNTIMES}')
    fns = {}
    if 'eager' in runtimes:
        fns['eager'] = lambda x: model(x)
    if 'compile' in runtimes:
        fns['compile'] = compile_for_inference(model)
    if {'onnxruntime', 'openvino'} & set(runtimes):
        from mmconvmlp.deployment import (export_onnx, openvino_model,
                                          ort_session)
        path = osp.join(workdir, f'{name}.onnx')
        export_onnx(
            model, path, 'backbone', tuple(inputs[0].shape[2:]), dynamic=True)
        if 'onnxruntime' in runtimes:
            # Idle workers that spin would take the CPUs of the runtime
            # timed next in the interleaved loop.
            session = ort_session(path, threads, spinning=False)
            fns['onnxruntime'] = lambda x: session.run(None,
                                                       {'input': x.numpy()})
        if 'openvino' in runtimes:
            fns['openvino'] = openvino_model(path, threads)
            ov_run = fns['openvino']
            fns['openvino'] = lambda x: ov_run(x.numpy())
    runs = []
    for x in inputs:
        with torch.inference_mode():
            ref = model(x)
        for rt in runtimes:
            fn = fns[rt]

            def call(fn=fn, x=x):
                with torch.inference_mode():
                    return fn(x)

            key = dict(
                model=name,
                runtime=rt,
                size=list(x.shape[2:]),
                batch=x.shape[0],
                dtype='fp32',
                threads=threads,
                max_error=_max_error(ref, call()))
            runs.append(TimedRun(key, timed(call)))
    return runs


def runtime_rows(runs: Sequence[TimedRun]) -> List[dict]:
    """Result rows of timed :func:`runtime_runs`.

    Returns:
        list[dict]: The key plus ``latency_s`` (median), ``times_s``,
        ``min_s``, ``throughput_img_s`` and ``ratio_eager`` (latency / eager
        PyTorch's at the same model, size and batch; None without an eager
        run).
    """
    eager = {
        (r.key['model'], tuple(r.key['size']), r.key['batch']): r.median
        for r in runs if r.key['runtime'] == 'eager'
    }
    rows = []
    for r in runs:
        k = r.key
        ref = eager.get((k['model'], tuple(k['size']), k['batch']))
        rows.append(
            dict(
                k,
                latency_s=r.median,
                times_s=r.times,
                min_s=min(r.times),
                throughput_img_s=k['batch'] / r.median,
                ratio_eager=r.median / ref if ref else None))
    return rows


__all__ = [
    'DTYPES', 'TimedRun', 'timed', 'measure_interleaved', 'autocast',
    'gemm_runs', 'gemm_rows', 'gemm_peak', 'count_gmacs',
    'bf16_cosine_similarity', 'peak_rss_of_step', 'OtherLoad', 'machine_info',
    'RUNTIMES', 'RUNTIME_PACKAGES', 'compile_for_inference',
    'missing_runtimes', 'runtime_runs', 'runtime_rows'
]
