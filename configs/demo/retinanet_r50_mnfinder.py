# RetinaNet: retinanet_convmlp_s_mnfinder.py with MMDetection's ResNet-50
# instead of ConvMLP-S, also from scratch (`make demo-compare DATA=mnfinder`).
_base_ = ['./retinanet_convmlp_s_mnfinder.py', './_base_/resnet50.py']

model = dict(backbone=_base_.r50_backbone, neck=_base_.r50_neck)
for __key in ('r50_backbone', 'r50v1c_backbone', 'r50_neck'):
    del _base_[__key]
