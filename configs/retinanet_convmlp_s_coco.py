# RetinaNet with a ConvMLP-S backbone on COCO, the recipe of the ConvMLP paper
# (arXiv:2109.04454, Table 3): 1x schedule, AdamW lr 1e-4, wd 1e-4, 8 GPUs x 2
# images.
# Paper: 18.7 M parameters, 37.2 box AP on val2017.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmconvmlp'], allow_failed_imports=False)
# Checkpoints read weights-only (every scheme) and refused unless they fit
# the model; resumed runs draw the same random numbers as uninterrupted ones;
# checkpoints written in plain types, which torch.load(weights_only=True) and
# so the stock inferencers read; a NaN or infinite loss stops the run, naming
# the loss term and the images.
custom_hooks = [
    dict(type='mmconvmlp.SafeLoadingHook'),
    dict(type='mmconvmlp.CheckpointCheckHook'),
    dict(type='mmconvmlp.ResumeStateHook'),
    dict(type='mmconvmlp.PlainCheckpointHook'),
    dict(type='mmconvmlp.LossCheckHook'),
]

model = dict(
    backbone=dict(
        _delete_=
        True,  # drop ResNet's depth/style/frozen_stages/... from the base
        type='mmconvmlp.ConvMLP',
        arch='s',
        out_indices=(0, 1, 2, 3),
        # The channel MLPs as 1x1 convolutions of the same weights, the
        # faster route on CPUs (timings: docs/speed.md).
        linear_pw_conv=False,
        init_cfg=dict(
            type='Pretrained',
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_s_imagenet.pth')),
    # All four maps (strides 4-32) go in; RetinaNet's FPN starts at level 1
    # (stride 8).
    neck=dict(in_channels=[64, 128, 256, 512]))

# AdamW replaces the base's SGD (whose momentum AdamW does not take). The 1x
# schedule of the base (12 epochs, steps at 8 and 11, 500-iteration linear
# warm-up) is the paper's.
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001))
train_dataloader = dict(batch_size=2)
