"""Parts of MMEngine's training loop that configs name: hooks and the CPU
mixed-precision optimizer wrapper."""
from .hooks import (CheckpointCheckHook, LossCheckHook, NonFiniteLossError,
                    PlainCheckpointHook, ResumeStateHook, SafeLoadingHook)
from .optimizers import CPUAmpOptimWrapper, has_native_bf16

__all__ = [
    'CheckpointCheckHook', 'LossCheckHook', 'NonFiniteLossError',
    'PlainCheckpointHook', 'ResumeStateHook', 'SafeLoadingHook',
    'CPUAmpOptimWrapper', 'has_native_bf16'
]
