# What the nuclei detection demos share (RetinaNet and Mask R-CNN, on the
# StarDist nuclei and on mnfinder's; tools/dataset_converters/), for training
# from scratch on a CPU: the pipelines, loaders, schedule and checks.
#
# Same pattern as coco_demo.py: MMEngine refuses a key that two bases define,
# so the settings that the paper configs define too are kept here under
# nuclei_* names; a demo config assigns them to the real keys and drops them.
#
# The scale rule: pictures are resized by target_size / object_size, where
# object_size is the median object's box side in source pixels (the one
# size setting of a dataset) and target_size = 40 px, the middle anchor of
# RetinaNet's stride-8 level (32 x 2^(1/3) px; the RPN's smallest anchor is
# 32 px at stride 4). An object from 0.57x to 2.5x the median (23 to 101 px)
# then has a RetinaNet anchor of its size within a factor 1/0.71, an IoU of
# at least 0.5 when centred (docs/nuclei.md, "The scale rule"). Training and
# testing use the same scale.
target_size = 40
crop_size = (320, 320)  # px after scaling: about 8 x 8 median objects
nuclei_iters = 200  # of 2 crops

# The StarDist nuclei (nuclei2coco.py); mnfinder's configs replace these.
metainfo = dict(classes=('nucleus', ), palette=[(220, 20, 60)])
nuclei_data_root = 'data/nuclei/'
nuclei_object_size = 25  # median box side in source pixels
nuclei_scale = target_size / nuclei_object_size

# A crop keeps the part of each object inside it: its box clipped
# (RetinaNet) or recomputed from what is left of its mask (Mask R-CNN, which
# switches the masks on), and FilterAnnotations drops the objects left with
# a box under 1 px or no mask pixel, which would give a zero-size box and a
# NaN box target (docs/nuclei.md, "The NaN"). Flips and a transposition keep
# a microscopy picture plausible.
nuclei_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale_factor=nuclei_scale),
    dict(type='RandomCrop', crop_size=crop_size, allow_negative_crop=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=True),
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25, 0.25],
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs'),
]
# What Mask R-CNN changes in it.
nuclei_with_masks = dict(
    LoadAnnotations=dict(with_mask=True),
    RandomCrop=dict(recompute_bbox=True),
    FilterAnnotations=dict(by_mask=True))
nuclei_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=nuclei_scale),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# Few pictures: worker processes would only compete with training for the CPU.
nuclei_loader = dict(num_workers=0, persistent_workers=False)
nuclei_train_dataloader = dict(
    batch_size=2,
    **nuclei_loader,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=nuclei_data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=nuclei_train_pipeline))
nuclei_val_dataloader = dict(
    batch_size=1,
    **nuclei_loader,
    dataset=dict(
        data_root=nuclei_data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        pipeline=nuclei_test_pipeline))
nuclei_val_evaluator = dict(ann_file=nuclei_data_root +
                            'annotations/instances_val.json')

# From scratch: a higher learning rate than the paper's fine-tuning one, a
# short warm-up and a cosine decay, counted in iterations.
nuclei_train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=nuclei_iters,
    val_interval=nuclei_iters)
nuclei_optim_wrapper = dict(
    optimizer=dict(lr=3e-4), clip_grad=dict(max_norm=35, norm_type=2))
nuclei_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=20,
        end=nuclei_iters,
        eta_min_ratio=0.01),
]
# A checkpoint every 50 iterations, the last two kept (tools/train.py
# --resume continues from the newest one).
nuclei_default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=50, max_keep_ckpts=2),
    visualization=dict(draw=False))
nuclei_log_processor = dict(by_epoch=False)
nuclei_auto_scale_lr = dict(enable=False)
# Seeded: a rerun on the same machine gives the same numbers.
randomness = dict(seed=0)
