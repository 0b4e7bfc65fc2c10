"""Data transforms. The demo and test data writers live in tools/misc/ and
tests/ (docs/design.md)."""
from .transforms import SafeLoadImageFromFile

__all__ = ['SafeLoadImageFromFile']
