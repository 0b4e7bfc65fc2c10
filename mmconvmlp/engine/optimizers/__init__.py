from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper, autocast_submodules

__all__ = ['CPUAmpOptimWrapper', 'autocast_submodules']
