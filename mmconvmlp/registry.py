"""Registries of mmconvmlp.

``MODELS`` is a child of MMEngine's root model registry with scope ``mmconvmlp``,
so that MMDetection and MMSegmentation configs reach its modules as
``type='mmconvmlp.ConvMLP'`` once ``custom_imports=dict(imports=['mmconvmlp'])`` is set.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmconvmlp', locations=['mmconvmlp.models'])

__all__ = ['MODELS']
