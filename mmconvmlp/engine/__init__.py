"""Training-loop add-ons for MMEngine's runner."""
from .hooks import LossCurveHook

__all__ = ['LossCurveHook']
