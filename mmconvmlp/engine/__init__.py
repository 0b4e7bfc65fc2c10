"""Training-loop parts for MMEngine's runner: hooks and optimizer wrappers."""
from .hooks import LossCurveHook
from .optimizers import CPUAmpOptimWrapper, autocast_submodules

__all__ = ['LossCurveHook', 'CPUAmpOptimWrapper', 'autocast_submodules']
