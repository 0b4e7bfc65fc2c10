# The same Semantic FPN, data and schedule as fpn_convmlp_s_nuclei.py with
# MMSegmentation's ResNet-50 (ResNetV1c, the stock fpn_r50.py backbone)
# instead of ConvMLP-S, also from scratch: the swap the other way, for the
# side-by-side table of docs/nuclei.md.
_base_ = ['./fpn_convmlp_s_nuclei.py']

model = dict(
    backbone=dict(
        _delete_=True,  # drop ConvMLP's arch and out_indices
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=None),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
