"""mmconvmlp: the ConvMLP backbone (arXiv:2109.04454) for MMDetection and MMSegmentation."""
from .version import __version__
from .registry import HOOKS, MODELS, OPTIM_WRAPPERS
from .models import ConvMLP
from .models.utils import (CheckpointMismatchError, check_checkpoint,
                           check_state_dict, convert_convmlp_checkpoint,
                           convert_key, load_convmlp_checkpoint)
from .engine import CheckpointCheckHook, CPUAmpOptimWrapper, LossCurveHook
from .utils import register_safe_globals

# MMEngine writes its checkpoints with a few of its own classes inside; allow-list
# them for torch's weights-only loading, so that resuming, load_from and testing
# work without turning safe loading off (see mmconvmlp.utils.safe_globals).
register_safe_globals()

__all__ = ['__version__', 'MODELS', 'OPTIM_WRAPPERS', 'HOOKS', 'ConvMLP',
           'convert_convmlp_checkpoint', 'convert_key', 'load_convmlp_checkpoint',
           'check_state_dict', 'check_checkpoint', 'CheckpointMismatchError',
           'CheckpointCheckHook', 'LossCurveHook', 'CPUAmpOptimWrapper',
           'register_safe_globals']
