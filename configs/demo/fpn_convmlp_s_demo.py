# Semantic FPN-ConvMLP-S on the demo dataset (tools/misc/make_demo_data.py):
# the paper config with only what a short CPU run needs changed: data root and
# classes, image scale, schedule, and no ImageNet checkpoint download (the
# backbone trains from scratch). The label maps use ADE20K's values; the four
# classes are a subset of ADE20K's 150 (the photograph behind the objects is
# 'wall').
_base_ = ['../fpn_convmlp_s_ade20k.py']

data_root = 'data/demo/ade/ADEChallengeData2016'
metainfo = dict(classes=('wall', 'ball', 'box', 'tent'))
image_scale = (192, 192)
crop_size = (160, 160)
randomness = dict(seed=0)  # a rerun gives the same numbers
num_iters = 300

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    decode_head=dict(num_classes=4))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# Loading a 320-pixel JPEG takes milliseconds: worker processes would only
# compete with training for the CPU.
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader

# From scratch: a higher learning rate than the paper's fine-tuning one, a
# short warm-up, then the paper's poly decay.
train_cfg = dict(max_iters=num_iters, val_interval=num_iters)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=30,
        end=num_iters,
        by_epoch=False),
]
# A checkpoint every 50 iterations (about 2 minutes here), the last three
# kept: a killed run loses at most 50 iterations (tools/train.py --resume).
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=50, max_keep_ckpts=3),
    visualization=dict(draw=False))
