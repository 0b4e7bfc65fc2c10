from .checkpoint_check_hook import CheckpointCheckHook, SafeLoadingHook
from .loss_check_hook import LossCheckHook, NonFiniteLossError
from .plain_checkpoint_hook import PlainCheckpointHook
from .resume_state_hook import ResumeStateHook

__all__ = [
    'CheckpointCheckHook', 'SafeLoadingHook', 'LossCheckHook',
    'NonFiniteLossError', 'PlainCheckpointHook', 'ResumeStateHook'
]
