from .checkpoint_check_hook import CheckpointCheckHook
from .loss_curve_hook import LossCurveHook

__all__ = ['CheckpointCheckHook', 'LossCurveHook']
