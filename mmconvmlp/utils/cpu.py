# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""What the CPU computes natively: the kernels torch selected and bfloat16
support.

x86 CPUs differ in ways that change which code is fast: with AVX512-BF16 or
AMX, bfloat16 matrix products run about twice as fast as float32; on AVX2-only
CPUs bfloat16 is emulated and 5-24x *slower* than float32 (measured on a 2-core
AMD EPYC, see docs/speed.md). The tools ask here before turning bfloat16
autocast on.

Both answers follow what torch was told to use, so
``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`` makes an AVX-512 machine
answer like an AVX2-only one.
"""
import os
import platform
from functools import lru_cache

import torch

#: Slowdown of bfloat16 against float32 autocast measured on an AVX2-only CPU
#: (ConvMLP-S and ResNet-50 forward passes, GEMMs; 2-core AMD EPYC, torch 2.13;
#: docs/speed.md).
EMULATED_BF16_SLOWDOWN = '5-24x'


def cpu_capability() -> str:
    """The vector ISA of torch's CPU kernels: ``'AVX512'``, ``'AVX2'``,
    ``'DEFAULT'``...

    Follows ``ATEN_CPU_CAPABILITY`` when it is set.
    """
    get = getattr(torch.backends.cpu, 'get_cpu_capability', None)
    return get() if get is not None else 'unknown'


def has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware.

    True when oneDNN may use AVX512-BF16 or AMX (``torch.ops.mkldnn.
    _is_mkldnn_bf16_supported()``, which honours ``ONEDNN_MAX_CPU_ISA``) and
    ATen's kernels are not restricted below AVX-512 (``ATEN_CPU_CAPABILITY``).

    Returns:
        bool: False on AVX2-only CPUs, where bfloat16 is emulated.
    """
    if not cpu_capability().upper().startswith('AVX512'):
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@lru_cache(maxsize=None)
def _cpuinfo_field(name: str) -> str:
    """The first ``name : value`` line of ``/proc/cpuinfo`` ('' elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(name):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return ''


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else
    ``platform.processor()``."""
    return _cpuinfo_field('model name') or platform.processor() or 'unknown'


def cpu_info() -> dict:
    """A description of the CPU for benchmark reports and log lines.

    Returns:
        dict: ``model`` (name), ``cores`` (logical CPUs), ``hardware_isa``
        (the widest of AVX512-BF16 / AMX, AVX-512, AVX2 that ``/proc/cpuinfo``
        lists), ``torch_isa`` (:func:`cpu_capability`), ``native_bf16``
        (:func:`has_native_bf16`) and the ``ONEDNN_MAX_CPU_ISA`` /
        ``ATEN_CPU_CAPABILITY`` restrictions in force.
    """
    flags = set(_cpuinfo_field('flags').split())
    hardware = [
        name
        for name, flag in (('AMX', 'amx_bf16'), ('AVX512-BF16', 'avx512_bf16'),
                           ('AVX-512', 'avx512f'), ('AVX2', 'avx2'))
        if flag in flags
    ]
    return dict(
        model=cpu_model(),
        cores=os.cpu_count(),
        hardware_isa=', '.join(hardware) or 'unknown',
        torch_isa=cpu_capability(),
        native_bf16=has_native_bf16(),
        onednn_max_cpu_isa=os.environ.get('ONEDNN_MAX_CPU_ISA'),
        aten_cpu_capability=os.environ.get('ATEN_CPU_CAPABILITY'),
    )


def describe_cpu() -> str:
    """One line naming the CPU, its ISA as torch uses it and bfloat16
    support."""
    info = cpu_info()
    limits = [
        f'{k.upper()}={v}' for k, v in info.items()
        if k in ('onednn_max_cpu_isa', 'aten_cpu_capability') and v
    ]
    text = (f"{info['model']} ({info['cores']} CPUs; "
            f"hardware {info['hardware_isa']}; "
            f"torch kernels {info['torch_isa']}; bfloat16 "
            f"{'native' if info['native_bf16'] else 'emulated'}")
    return text + (f"; {', '.join(limits)})" if limits else ')')


__all__ = [
    'EMULATED_BF16_SLOWDOWN', 'cpu_capability', 'has_native_bf16', 'cpu_model',
    'cpu_info', 'describe_cpu'
]
