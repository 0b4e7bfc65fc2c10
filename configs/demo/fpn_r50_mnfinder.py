# fpn_convmlp_s_mnfinder.py with MMSegmentation's ResNet-50 (ResNetV1c, the
# stock fpn_r50.py backbone) instead of ConvMLP-S, also from scratch: the swap
# the other way, for the side-by-side tables of docs/nuclei.md.
_base_ = ['./fpn_convmlp_s_mnfinder.py', './_base_/resnet50.py']

model = dict(backbone=_base_.r50v1c_backbone, neck=_base_.r50_neck)
for __key in ('r50_backbone', 'r50v1c_backbone', 'r50_neck'):
    del _base_[__key]
