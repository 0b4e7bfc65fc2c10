# Semantic FPN-ConvMLP-S on the StarDist nuclei (tools/dataset_converters/
# nuclei2coco.py writes the label maps: 0 background, 1 nucleus), from
# scratch: the paper config with the data, two classes, the crops and scale
# rule of the detection demos (_base_/nuclei.py: pictures resized by 40 px /
# the median object side), a short CPU schedule and no ImageNet checkpoint
# download. `make demo MODEL=semfpn` trains and tests it (mIoU and the
# nucleus IoU on the held-out quadrant, at the source resolution).
_base_ = ['../fpn_convmlp_s_ade20k.py']

data_root = 'data/nuclei/'
metainfo = dict(
    classes=('background', 'nucleus'), palette=[(0, 0, 0), (220, 20, 60)])
target_size = 40  # the scale rule of _base_/nuclei.py
object_size = 25  # median box side in source pixels
scale = target_size / object_size
crop_size = (320, 320)
num_iters = 300
randomness = dict(seed=0)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    decode_head=dict(num_classes=2))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='Resize', scale_factor=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25],
        direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
# Label maps in 0/1 (no "ignore" value to reduce): a generic BaseSegDataset
# instead of the base's ADE20KDataset, the converter's folders.
__dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=False)
# Few pictures: worker processes would only compete with training
# for the CPU.
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        **__dataset,
        data_prefix=dict(img_path='images/train', seg_map_path='labels/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        **__dataset,
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline=test_pipeline))
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
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, max_keep_ckpts=2),
    visualization=dict(draw=False))
