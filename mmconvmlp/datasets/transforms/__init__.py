from .loading import SafeLoadImageFromFile

__all__ = ['SafeLoadImageFromFile']
