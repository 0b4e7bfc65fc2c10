# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Mixed precision on CPU: bfloat16 autocast for MMEngine's optimizer wrappers.

MMEngine's ``AmpOptimWrapper`` asserts a GPU (it is built around
``torch.cuda.amp.GradScaler``). On a CPU, autocast works with bfloat16 only,
and bfloat16 has float32's exponent range, so no loss scaling is needed: an
``OptimWrapper`` whose ``optim_context`` enters ``autocast(device_type='cpu',
dtype=torch.bfloat16)`` is all it takes, except for models that call MMCV's
float32-only CPU ops in their forward pass (see ``autocast_modules``).

bfloat16 only pays on CPUs that compute it natively (AVX512-BF16, AMX). On
AVX2-only CPUs it is emulated and training runs 5-24x slower than in float32,
so there the wrapper trains in float32 and says so (``allow_emulated_bf16``).
"""
import logging
from contextlib import contextmanager
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmconvmlp.registry import OPTIM_WRAPPERS


def has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware.

    True where ATen's kernels are AVX-512 (``ATEN_CPU_CAPABILITY`` may
    restrict them) and oneDNN may use AVX512-BF16 or AMX (its check honours
    ``ONEDNN_MAX_CPU_ISA``); False on AVX2-only CPUs, where bfloat16 is
    emulated and 5-24x slower than float32 (docs/speed.md).
    """
    isa = torch.backends.cpu.get_cpu_capability()
    # torch has no public check of oneDNN's bfloat16 support.
    return isa.startswith('AVX512') and bool(
        torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _to_float(outputs):
    """Cast the bfloat16 tensors of a (nested) module output back to
    float32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.dtype == torch.bfloat16 else outputs
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_to_float(o) for o in outputs)
    if isinstance(outputs, dict):
        return type(outputs)((k, _to_float(v)) for k, v in outputs.items())
    return outputs


@contextmanager
def autocast_submodules(model: nn.Module,
                        names: Sequence[str],
                        dtype: torch.dtype = torch.bfloat16):
    """Run the named submodules' ``forward`` under CPU autocast for the
    duration, handing float32 outputs on to the rest of the model.

    Args:
        model (nn.Module): The model, or an MMEngine model wrapper around it.
        names (Sequence[str]): Attribute names of submodules (e.g.
            ``'backbone'``); missing names are skipped.
        dtype (torch.dtype): Autocast dtype. Defaults to ``torch.bfloat16``.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner.amp import autocast
    if is_model_wrapper(model):
        model = model.module
    patched = []
    for name in names:
        module = getattr(model, name, None)
        if not isinstance(module, nn.Module):
            continue

        def forward(*args, _forward=module.forward, **kwargs):
            with autocast(device_type='cpu', dtype=dtype):
                return _to_float(_forward(*args, **kwargs))

        module.forward = forward  # an instance attribute shadows the method
        patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            del module.forward


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """Optimizer wrapper that runs the forward pass under bfloat16 autocast on
    the CPU.

    Parameters, gradients and optimizer state stay float32; matrix products and
    convolutions run in bfloat16 (several times faster on CPUs with AVX512-BF16
    or AMX). Use it like ``OptimWrapper``::

        optim_wrapper = dict(type='mmconvmlp.CPUAmpOptimWrapper',
                             optimizer=dict(type='AdamW', lr=1e-4))

    The compiled CPU ops of MMCV (``nms``, ``RoIAlign``, ...) take float32
    only, so models that call them inside the training forward (two-stage
    detectors: RPN proposals, RoI feature extraction) autocast only some
    submodules: ``autocast_modules=['backbone', 'neck']`` runs those in
    bfloat16 and hands float32 outputs on to the heads.
    ``tools/train.py --amp`` sets this for models with a ``roi_head``.

    On a CPU without native bfloat16 (AVX2 only; see
    :func:`has_native_bf16`) autocast is left off and training
    runs in float32, with one WARNING that names the CPU and the slowdown
    avoided: the same run, not a 10x slower one. ``allow_emulated_bf16=True``
    autocasts anyway (to check bfloat16 numerics on such a machine).

    Args:
        dtype (str | torch.dtype): Autocast dtype; CPU autocast supports
            ``'bfloat16'`` only. Defaults to ``'bfloat16'``.
        autocast_modules (Sequence[str], optional): Names of the model's
            submodules to autocast (missing names are skipped). None autocasts
            the whole forward pass and the loss. Defaults to None.
        allow_emulated_bf16 (bool): Autocast even where bfloat16 is emulated.
            Defaults to False.
        loss_scale: Accepted and ignored, so that a config written for
            ``AmpOptimWrapper`` (``loss_scale='dynamic'``) works unchanged:
            bfloat16 has float32's exponent range and needs no loss scaling.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 autocast_modules: Optional[Sequence[str]] = None,
                 allow_emulated_bf16: bool = False,
                 loss_scale=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype is not torch.bfloat16:
            raise ValueError(
                'CPUAmpOptimWrapper: CPU autocast supports bfloat16 only, '
                f'got dtype={dtype}')
        self.cast_dtype = dtype
        self.autocast_modules = list(
            autocast_modules) if autocast_modules else None
        self.enabled = allow_emulated_bf16 or has_native_bf16()
        where = ('the forward pass' if self.autocast_modules is None else
                 ', '.join(self.autocast_modules))
        if self.enabled:
            print_log(
                f'Mixed precision on the CPU: bfloat16 autocast of {where} '
                '(mmconvmlp.CPUAmpOptimWrapper, no loss scaling).',
                logger='current')
        else:
            print_log(
                'Mixed precision off: this CPU has no native bfloat16 '
                f'(torch kernels {torch.backends.cpu.get_cpu_capability()}); '
                'emulated bfloat16 trains 5-24x slower than float32, so it '
                'trains in float32. Set '
                'optim_wrapper.allow_emulated_bf16=True to autocast anyway.',
                logger='current',
                level=logging.WARNING)

    @contextmanager
    def _autocast(self):
        # Imported here: mmengine.runner pulls in the whole runner machinery.
        from mmengine.runner.amp import autocast
        with autocast(device_type='cpu', dtype=self.cast_dtype):
            yield

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus CPU
        autocast."""
        with super().optim_context(model):
            if not self.enabled:
                yield
            elif self.autocast_modules is None:
                with self._autocast():
                    yield
            else:
                with autocast_submodules(model, self.autocast_modules,
                                         self.cast_dtype):
                    yield
