from .checkpoint_check_hook import CheckpointCheckHook, SafeLoadingHook
from .loss_check_hook import LossCheckHook, NonFiniteLossError
from .resume_state_hook import ResumeStateHook

__all__ = [
    'CheckpointCheckHook', 'SafeLoadingHook', 'LossCheckHook',
    'NonFiniteLossError', 'ResumeStateHook'
]
