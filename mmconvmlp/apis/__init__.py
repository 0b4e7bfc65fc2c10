"""The shared code of ``tools/train.py`` and ``tools/test.py``."""
from .checks import ToolError, check_datasets, check_neck_channels, set_data_root
from .tools import (build_runner, load_config, setup_amp, setup_launcher, test, test_main,
                    test_parser, train, train_main, train_parser)

__all__ = ['ToolError', 'check_datasets', 'check_neck_channels', 'set_data_root',
           'build_runner', 'load_config', 'setup_amp', 'setup_launcher', 'train', 'test',
           'train_main', 'test_main', 'train_parser', 'test_parser']
