from .loss_curve_hook import LossCurveHook

__all__ = ['LossCurveHook']
