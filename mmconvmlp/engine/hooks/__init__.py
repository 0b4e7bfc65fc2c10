from .checkpoint_check_hook import CheckpointCheckHook, SafeLoadingHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .resume_state_hook import ResumeStateHook

__all__ = [
    'CheckpointCheckHook', 'SafeLoadingHook', 'PlainCheckpointHook',
    'ResumeStateHook'
]
