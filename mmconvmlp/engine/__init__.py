"""Training-loop parts for MMEngine's runner: hooks and optimizer wrappers."""
from .hooks import CheckpointCheckHook, LossCurveHook
from .optimizers import CPUAmpOptimWrapper, autocast_submodules

__all__ = ['CheckpointCheckHook', 'LossCurveHook', 'CPUAmpOptimWrapper',
           'autocast_submodules']
