# Mask R-CNN-ConvMLP-S on the demo dataset (tools/make_demo_data.py): the paper config
# with only what a short CPU run needs changed: data root and classes, image scale,
# schedule, and no ImageNet checkpoint download (the backbone trains from scratch).
_base_ = ['../maskrcnn_convmlp_s_coco.py']

data_root = 'data/demo/coco/'
metainfo = dict(classes=('ball', 'box', 'tent'),
                palette=[(220, 20, 60), (250, 170, 30), (0, 60, 230)])
image_scale = (160, 160)
num_epochs = 4

model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# Loading a 320-pixel JPEG takes milliseconds: worker processes would only compete
# with training for the CPU.
# Two images per step (the paper's per-GPU batch): a Mask R-CNN step costs about 2.3 s
# here, and more, smaller steps learn faster in a fixed time.
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# From scratch with 50 iterations per epoch: a higher learning rate than the paper's
# fine-tuning one, a short warm-up and a cosine decay.
train_cfg = dict(max_epochs=num_epochs, val_interval=num_epochs)
optim_wrapper = dict(optimizer=dict(lr=3e-4), clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=num_epochs,
         eta_min_ratio=0.01, convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=num_epochs),
    visualization=dict(draw=False))
custom_hooks = [dict(type='mmconvmlp.LossCurveHook', interval=50)]
auto_scale_lr = dict(enable=False)
