# ResNet-50 as a from-scratch peer of ConvMLP-S in the nuclei
# comparisons: nothing frozen and BatchNorm training, as in ConvMLP-S (from
# random weights, the stock frozen_stages=1 and norm_eval=True would keep a
# random stem and identity normalisation). A comparison config lists its
# ConvMLP-S config and this file, then sets
# `model = dict(backbone=_base_.r50_backbone, neck=_base_.r50_neck)`.
r50_backbone = dict(
    _delete_=True,  # drop ConvMLP's arch and out_indices
    type='ResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    init_cfg=None)
r50_neck = dict(in_channels=[256, 512, 1024, 2048])
# MMSegmentation's: ResNetV1c, the stock fpn_r50.py backbone, the same way.
r50v1c_backbone = dict(
    r50_backbone,
    type='ResNetV1c',
    dilations=(1, 1, 1, 1),
    strides=(1, 2, 2, 2),
    contract_dilation=True)
