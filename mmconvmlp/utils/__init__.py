"""Helpers that are not models: config handling, checks and runner set-up for
the tools, safe checkpoint loading, putting ConvMLP into other configs."""
from .checks import (ToolError, check_datasets, check_file,
                     check_neck_channels, is_remote)
from .config import (add_cfg_options, add_common_args, build_model,
                     check_out_path, codebase_of, dataset_meta_of,
                     enable_visualization, load_config, set_data_root)
from .cpu import cpu_capability, cpu_info, describe_cpu, has_native_bf16
from .resume import (AtomicLocalBackend, find_resume_checkpoint,
                     register_atomic_backend, setup_resume)
from .safe_globals import (register_safe_globals,
                           safe_globals_for_mmengine_checkpoints)
from .safe_load import (CheckpointError, CheckpointHashError,
                        UnsafeCheckpointError, check_load_from_pin,
                        check_sha256, fetch_checkpoint, register_safe_loaders,
                        resolve_checkpoint, safe_torch_load, sha256sum)
from .setup_env import (add_result_dump, build_runner, close_process_group,
                        run_tool, set_checkpoint_check, setup_amp,
                        setup_launcher)
from .swap import IMAGENET_CHECKPOINTS, convmlp_out_channels, swap_backbone

__all__ = [
    'ToolError', 'check_datasets', 'check_file', 'check_neck_channels',
    'is_remote', 'add_cfg_options', 'add_common_args', 'build_model',
    'check_out_path', 'codebase_of', 'dataset_meta_of', 'enable_visualization',
    'load_config', 'set_data_root', 'cpu_capability', 'cpu_info',
    'describe_cpu', 'has_native_bf16', 'register_safe_globals',
    'safe_globals_for_mmengine_checkpoints', 'AtomicLocalBackend',
    'find_resume_checkpoint', 'register_atomic_backend', 'setup_resume',
    'CheckpointError', 'CheckpointHashError', 'UnsafeCheckpointError',
    'check_load_from_pin', 'check_sha256', 'fetch_checkpoint',
    'register_safe_loaders', 'resolve_checkpoint', 'safe_torch_load',
    'sha256sum', 'add_result_dump', 'build_runner', 'close_process_group',
    'run_tool', 'set_checkpoint_check', 'setup_amp', 'setup_launcher',
    'IMAGENET_CHECKPOINTS', 'convmlp_out_channels', 'swap_backbone'
]
