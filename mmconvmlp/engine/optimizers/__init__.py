from .cpu_amp_optim_wrapper import (CPUAmpOptimWrapper, autocast_submodules,
                                    has_native_bf16)

__all__ = ['CPUAmpOptimWrapper', 'autocast_submodules', 'has_native_bf16']
