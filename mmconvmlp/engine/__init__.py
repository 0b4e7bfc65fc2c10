"""Training-loop parts for MMEngine's runner: hooks and optimizer wrappers."""
from .hooks import CheckpointCheckHook, LossCurveHook, ResumeStateHook
from .optimizers import CPUAmpOptimWrapper, autocast_submodules

__all__ = [
    'CheckpointCheckHook', 'LossCurveHook', 'ResumeStateHook',
    'CPUAmpOptimWrapper', 'autocast_submodules'
]
