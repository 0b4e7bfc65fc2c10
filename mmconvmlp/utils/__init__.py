"""Helpers that are not models: config handling, checks and runner set-up for the
tools, safe checkpoint loading, putting ConvMLP into other configs."""
from .checks import (ToolError, check_datasets, check_file, check_neck_channels,
                     is_remote)
from .config import (add_common_args, build_model, check_out_path, codebase_of,
                     enable_visualization, load_config, set_data_root)
from .cpu import cpu_capability, cpu_info, describe_cpu, has_native_bf16
from .safe_globals import register_safe_globals, safe_globals_for_mmengine_checkpoints
from .setup_env import (add_result_dump, build_runner, close_process_group, run_tool,
                        setup_amp, setup_launcher)
from .swap import IMAGENET_CHECKPOINTS, convmlp_out_channels, swap_backbone

__all__ = [
    'ToolError', 'check_datasets', 'check_file', 'check_neck_channels', 'is_remote',
    'add_common_args', 'build_model', 'check_out_path', 'codebase_of', 'enable_visualization',
    'load_config', 'set_data_root', 'cpu_capability', 'cpu_info',
    'describe_cpu', 'has_native_bf16',
    'register_safe_globals', 'safe_globals_for_mmengine_checkpoints',
    'add_result_dump', 'build_runner', 'close_process_group', 'run_tool', 'setup_amp',
    'setup_launcher', 'IMAGENET_CHECKPOINTS', 'convmlp_out_channels', 'swap_backbone'
]
