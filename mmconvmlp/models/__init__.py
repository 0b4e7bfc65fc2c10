from .backbones import ConvMLP

__all__ = ['ConvMLP']
