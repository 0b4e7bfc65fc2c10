"""mmconvmlp: the ConvMLP backbone (arXiv:2109.04454) for MMDetection and MMSegmentation."""
from .version import __version__
from .registry import MODELS
from .models import ConvMLP
from .models.utils import convert_convmlp_checkpoint, load_convmlp_checkpoint

__all__ = ['__version__', 'MODELS', 'ConvMLP', 'convert_convmlp_checkpoint',
           'load_convmlp_checkpoint']
