"""Demo data in the layouts of COCO and ADE20K (the real datasets load with
MMDetection's and MMSegmentation's own dataset classes)."""
from .demo import CLASSES, SEG_CLASSES, generate_ade20k, generate_coco, load_photos

__all__ = ['CLASSES', 'SEG_CLASSES', 'generate_coco', 'generate_ade20k', 'load_photos']
