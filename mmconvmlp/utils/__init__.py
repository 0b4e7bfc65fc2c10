"""Helpers that are not models: checkpoint loading, mixed precision, backbone swap."""
from .amp import CPUAmpOptimWrapper
from .safe_globals import register_safe_globals, safe_globals_for_mmengine_checkpoints
from .swap import IMAGENET_CHECKPOINTS, convmlp_out_channels, swap_backbone

__all__ = ['CPUAmpOptimWrapper', 'register_safe_globals',
           'safe_globals_for_mmengine_checkpoints', 'IMAGENET_CHECKPOINTS',
           'convmlp_out_channels', 'swap_backbone']
