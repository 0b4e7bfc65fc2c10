from .checkpoint import (POLICIES, CheckpointError, CheckpointMismatchError,
                         check_checkpoint, check_state_dict, describe,
                         enable_safe_loading, load_backbone_checkpoint,
                         load_checkpoint_file, mmengine_safe_globals,
                         weights_only_loading)
from .ckpt_convert import (convert_key, convert_meta, convert_state_dict_keys,
                           original_key)

__all__ = [
    'POLICIES', 'CheckpointError', 'CheckpointMismatchError',
    'check_checkpoint', 'check_state_dict', 'describe', 'enable_safe_loading',
    'load_backbone_checkpoint', 'load_checkpoint_file',
    'mmengine_safe_globals', 'weights_only_loading', 'convert_key',
    'convert_meta', 'convert_state_dict_keys', 'original_key'
]
