from .checkpoint import (POLICIES, CheckpointMismatchError, KeyIssue,
                         StateDictReport, check_checkpoint, check_state_dict,
                         convert_checkpoint, convert_convmlp_checkpoint,
                         convert_key, convert_meta, convert_state_dict_keys,
                         describe_skipped, is_head_part,
                         load_convmlp_checkpoint, original_key)

__all__ = [
    'POLICIES', 'CheckpointMismatchError', 'KeyIssue', 'StateDictReport',
    'check_checkpoint', 'check_state_dict', 'convert_checkpoint',
    'convert_convmlp_checkpoint', 'convert_key', 'convert_meta',
    'convert_state_dict_keys', 'describe_skipped', 'is_head_part',
    'load_convmlp_checkpoint', 'original_key'
]
