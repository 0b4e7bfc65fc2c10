"""Putting ConvMLP into other configs, what the tools add to a run, and the
guard of everything the project writes."""
from .outputs import (MANIFEST, OutputError, output_dir, output_file,
                      remove_written, written_files)
from .setup_env import (MAX_DROPPED, ToolError, add_common_args, add_hook,
                        build_dataset, build_model, build_runner, check_data,
                        check_neck_channels, claim_work_dir, iter_datasets,
                        load_config, run_tool, setup_amp, setup_launcher)
from .swap import IMAGENET_CHECKPOINTS, convmlp_out_channels, swap_backbone

__all__ = [
    'MAX_DROPPED', 'ToolError', 'add_common_args', 'add_hook', 'build_dataset',
    'build_model', 'build_runner', 'check_data', 'check_neck_channels',
    'claim_work_dir', 'iter_datasets', 'load_config', 'run_tool', 'setup_amp',
    'setup_launcher', 'IMAGENET_CHECKPOINTS', 'convmlp_out_channels',
    'swap_backbone', 'MANIFEST', 'OutputError', 'output_dir', 'output_file',
    'remove_written', 'written_files'
]
