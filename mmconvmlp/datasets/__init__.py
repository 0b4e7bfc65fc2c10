"""Data transforms and the demo datasets."""
from .transforms import SafeLoadImageFromFile

__all__ = ['SafeLoadImageFromFile']
