"""Data transforms of mmconvmlp, registered as ``mmconvmlp.<name>``."""
from .loading import BadDataError, SafeLoadImageFromFile

__all__ = ['BadDataError', 'SafeLoadImageFromFile']
