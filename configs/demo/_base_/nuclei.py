# What the nuclei detection demos share: the stardist nuclei in the COCO
# layout (tools/dataset_converters/nuclei2coco.py: three quadrants train, the
# bottom-right one held out, 2x upscaled), their loaders and evaluator, and a
# short from-scratch, iteration-based schedule for a CPU.
#
# Same pattern as coco_demo.py: MMEngine refuses a key that two bases define,
# so the settings that the paper configs define too are kept here under
# nuclei_* names; a demo config assigns them to the real keys and drops them.
metainfo = dict(classes=('nucleus', ), palette=[(220, 20, 60)])

nuclei_data_root = 'data/nuclei/'
nuclei_iters = 200  # of 2 images of 512x512
# Images at the size the converter wrote; flips and a transposition keep a
# microscopy picture plausible. Boxes only (the RLE masks are in the files).
nuclei_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale_factor=1.0),
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25, 0.25],
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs'),
]
nuclei_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=1.0),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# Three training pictures: worker processes would only compete with training
# for the CPU.
nuclei_loader = dict(num_workers=0, persistent_workers=False)
nuclei_train_sampler = dict(type='InfiniteSampler', shuffle=True)
nuclei_train_dataset = dict(
    data_root=nuclei_data_root,
    metainfo=metainfo,
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='images/train/'))
nuclei_val_dataset = dict(
    data_root=nuclei_data_root,
    metainfo=metainfo,
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='images/val/'))
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
