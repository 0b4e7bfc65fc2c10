"""mmconvmlp: the ConvMLP backbone (arXiv:2109.04454) for MMDetection and
MMSegmentation."""
from .datasets import SafeLoadImageFromFile, check_data
from .engine import (CheckpointCheckHook, CPUAmpOptimWrapper, LossCurveHook,
                     ResumeStateHook)
from .models import ConvMLP
from .models.utils import (CheckpointMismatchError, check_checkpoint,
                           check_state_dict, convert_convmlp_checkpoint,
                           convert_key, load_convmlp_checkpoint)
from .registry import HOOKS, MODELS, OPTIM_WRAPPERS, TRANSFORMS
from .utils import (register_atomic_backend, register_safe_globals,
                    register_safe_loaders)
from .version import __version__

# MMEngine writes its checkpoints with a few of its own classes inside;
# allow-list them for torch's weights-only loading, so that resuming, load_from
# and testing work without turning safe loading off (see
# mmconvmlp.utils.safe_globals).
register_safe_globals()
# No checkpoint runs code, wherever it comes from: MMEngine's local and
# http(s) loaders read weights-only (mmconvmlp.utils.safe_load); and a
# killed run leaves no half-written checkpoint (mmconvmlp.utils.resume).
register_safe_loaders()
register_atomic_backend()

__all__ = [
    '__version__', 'MODELS', 'OPTIM_WRAPPERS', 'HOOKS', 'TRANSFORMS',
    'ConvMLP', 'convert_convmlp_checkpoint', 'convert_key',
    'load_convmlp_checkpoint', 'check_state_dict', 'check_checkpoint',
    'CheckpointMismatchError', 'CheckpointCheckHook', 'LossCurveHook',
    'ResumeStateHook', 'CPUAmpOptimWrapper', 'SafeLoadImageFromFile',
    'check_data', 'register_safe_globals', 'register_safe_loaders',
    'register_atomic_backend'
]
