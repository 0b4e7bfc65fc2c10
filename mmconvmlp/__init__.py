"""mmconvmlp: the ConvMLP backbone (arXiv:2109.04454) for MMDetection and
MMSegmentation.

Importing it registers the project's modules in its own registries (scope
``mmconvmlp``, children of MMEngine's) and changes nothing else.
"""
from .datasets import SafeLoadImageFromFile
from .engine import (CheckpointCheckHook, CPUAmpOptimWrapper, LossCheckHook,
                     PlainCheckpointHook, ResumeStateHook, SafeLoadingHook)
from .models import ConvMLP
from .registry import HOOKS, MODELS, OPTIM_WRAPPERS, TRANSFORMS
from .utils import swap_backbone
from .version import __version__

__all__ = [
    '__version__', 'MODELS', 'OPTIM_WRAPPERS', 'HOOKS', 'TRANSFORMS',
    'ConvMLP', 'CheckpointCheckHook', 'SafeLoadingHook', 'ResumeStateHook',
    'LossCheckHook', 'PlainCheckpointHook', 'CPUAmpOptimWrapper',
    'SafeLoadImageFromFile', 'swap_backbone'
]
