from .checkpoint import convert_convmlp_checkpoint, load_convmlp_checkpoint

__all__ = ['convert_convmlp_checkpoint', 'load_convmlp_checkpoint']
