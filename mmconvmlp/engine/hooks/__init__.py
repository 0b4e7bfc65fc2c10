from .checkpoint_check_hook import CheckpointCheckHook
from .loss_curve_hook import LossCurveHook
from .resume_state_hook import ResumeStateHook

__all__ = ['CheckpointCheckHook', 'LossCurveHook', 'ResumeStateHook']
