"""Training-loop parts for MMEngine's runner: hooks and optimizer wrappers."""
from .hooks import LossCurveHook, ResumeStateHook
from .optimizers import CPUAmpOptimWrapper, autocast_submodules

__all__ = ['LossCurveHook', 'ResumeStateHook', 'CPUAmpOptimWrapper',
           'autocast_submodules']
