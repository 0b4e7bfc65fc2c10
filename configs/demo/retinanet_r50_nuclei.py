# The same detector, data and schedule as retinanet_convmlp_s_nuclei.py with
# MMDetection's ResNet-50 instead of ConvMLP-S, also from scratch (the swap
# the other way; `make demo-compare` trains both). Nothing is frozen and
# BatchNorm trains, as in ConvMLP-S: from random weights, the stock
# frozen_stages=1 and norm_eval=True would keep a random stem and identity
# normalisation.
_base_ = ['./retinanet_convmlp_s_nuclei.py']

model = dict(
    backbone=dict(
        _delete_=True,  # drop ConvMLP's arch and out_indices
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
