"""Registries of mmconvmlp.

Each is a child of MMEngine's root registry of its kind with scope
``mmconvmlp``, so that MMDetection and MMSegmentation configs reach the
project's modules as ``type='mmconvmlp.X'`` once
``custom_imports=dict(imports=['mmconvmlp'])`` is set: ``mmconvmlp.ConvMLP``
(a model), ``mmconvmlp.CPUAmpOptimWrapper`` (an optimizer wrapper),
``mmconvmlp.CheckpointCheckHook``, ``mmconvmlp.SafeLoadingHook``,
``mmconvmlp.ResumeStateHook`` and ``mmconvmlp.LossCheckHook`` (hooks) and
``mmconvmlp.SafeLoadImageFromFile`` (a data transform).
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmconvmlp',
    locations=['mmconvmlp.models'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope='mmconvmlp',
    locations=['mmconvmlp.engine.optimizers'])
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='mmconvmlp',
    locations=['mmconvmlp.engine.hooks'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='mmconvmlp',
    locations=['mmconvmlp.datasets.transforms'])

__all__ = ['MODELS', 'OPTIM_WRAPPERS', 'HOOKS', 'TRANSFORMS']
