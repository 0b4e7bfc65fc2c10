# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Mixed precision on CPU: bfloat16 autocast for MMEngine's optimizer wrappers.

MMEngine's ``AmpOptimWrapper`` asserts a GPU (it is built around
``torch.cuda.amp.GradScaler``). On a CPU, autocast works with bfloat16 only, and
bfloat16 has float32's exponent range, so no loss scaling is needed: an
``OptimWrapper`` whose ``optim_context`` enters ``autocast(device_type='cpu',
dtype=torch.bfloat16)`` is all it takes.
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry

# Child of MMEngine's root registry, so ``type='mmconvmlp.CPUAmpOptimWrapper'``
# resolves from MMDetection and MMSegmentation configs alike.
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmconvmlp',
    locations=['mmconvmlp.utils.amp'])


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """Optimizer wrapper that runs the forward pass and the loss under bfloat16
    autocast on the CPU.

    Parameters, gradients and optimizer state stay float32; matrix products and
    convolutions run in bfloat16 (several times faster on CPUs with AVX512-BF16
    or AMX). Use it like ``OptimWrapper``::

        optim_wrapper = dict(type='mmconvmlp.CPUAmpOptimWrapper',
                             optimizer=dict(type='AdamW', lr=1e-4))

    Args:
        dtype (str | torch.dtype): Autocast dtype; CPU autocast supports
            ``'bfloat16'`` only. Defaults to ``'bfloat16'``.
        loss_scale: Accepted and ignored, so that a config written for
            ``AmpOptimWrapper`` (``loss_scale='dynamic'``) works unchanged:
            bfloat16 needs no loss scaling.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', loss_scale=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype is not torch.bfloat16:
            raise ValueError('CPUAmpOptimWrapper: CPU autocast supports bfloat16 only, '
                             f'got dtype={dtype}')
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus CPU autocast."""
        # Imported here: mmengine.runner pulls in the whole runner machinery.
        from mmengine.runner.amp import autocast
        with super().optim_context(model), autocast(device_type='cpu',
                                                    dtype=self.cast_dtype):
            yield
