# What the two detection demo configs (retinanet_convmlp_s_demo.py and
# maskrcnn_convmlp_s_demo.py) share: the demo dataset in the COCO layout
# (tools/misc/make_demo_data.py), its loaders and evaluator, and a short
# from-scratch schedule for a CPU.
#
# A demo config lists its paper config and this file as bases. MMEngine
# refuses a key that two bases define, so the settings that the paper configs
# define too are kept here under demo_* names: the demo config assigns them to
# the real keys (adding its own epochs, batch size and masks) and then drops
# the demo_* names, which leaves the same config as writing it all out.
metainfo = dict(
    classes=('ball', 'box', 'tent'),
    palette=[(220, 20, 60), (250, 170, 30), (0, 60, 230)])
image_scale = (160, 160)

demo_data_root = 'data/demo/coco/'
# Boxes only; the Mask R-CNN demo loads the masks too.
demo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# Loading a 320-pixel JPEG takes milliseconds: worker processes would only
# compete with training for the CPU.
demo_loader = dict(num_workers=0, persistent_workers=False)
demo_dataset = dict(data_root=demo_data_root, metainfo=metainfo)
demo_val_evaluator = dict(ann_file=demo_data_root +
                          'annotations/instances_val2017.json')

# From scratch: a higher learning rate than the paper's fine-tuning one, a
# short warm-up and a cosine decay that ends with the demo config's epochs.
demo_optim_wrapper = dict(
    optimizer=dict(lr=3e-4), clip_grad=dict(max_norm=35, norm_type=2))
demo_warmup = dict(
    type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50)
demo_cosine = dict(
    type='CosineAnnealingLR',
    by_epoch=True,
    begin=0,
    eta_min_ratio=0.01,
    convert_to_iter_based=True)
# A checkpoint every epoch, the last three kept: a killed run loses at most
# one epoch (tools/train.py --resume continues from the newest one).
demo_default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=3),
    visualization=dict(draw=False))
demo_auto_scale_lr = dict(enable=False)
# Seeded: a rerun on the same machine gives the same numbers.
randomness = dict(seed=0)
