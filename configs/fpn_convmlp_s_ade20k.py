# Semantic FPN with a ConvMLP-S backbone on ADE20K, the recipe of the ConvMLP
# paper (arXiv:2109.04454, Table 4): 512x512 crops, AdamW lr 2e-4, wd 1e-4,
# poly schedule (power 0.9, min 0), 40k iterations, 8 GPUs x 4 images.
# Paper: 12.8 M parameters, 35.8 mIoU on the validation set.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    'mmseg::_base_/default_runtime.py',
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

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=
    None,  # the base's ResNet checkpoint; ConvMLP loads through init_cfg
    backbone=dict(
        _delete_=True,  # drop ResNetV1c's depth/dilations/... from the base
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
    neck=dict(in_channels=[64, 128, 256, 512]),
    # The heads keep the base's SyncBN (MMEngine's runner turns it into BN when
    # the run is not distributed).
    decode_head=dict(num_classes=150))

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=0.0002, weight_decay=0.0001))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=40000,
        by_epoch=False)
]
train_dataloader = dict(batch_size=4)
