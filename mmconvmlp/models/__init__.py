from .backbones import ConvMLP  # noqa: F401

__all__ = ['ConvMLP']
