from .checkpoint_check_hook import CheckpointCheckHook, SafeLoadingHook
from .resume_state_hook import ResumeStateHook

__all__ = ['CheckpointCheckHook', 'SafeLoadingHook', 'ResumeStateHook']
