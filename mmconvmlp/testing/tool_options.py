"""``--cfg-options`` that make the paper configs tiny for tool tests on the
datasets of :func:`mmconvmlp.testing.data.generate_tiny_coco` and
:func:`~mmconvmlp.testing.data.generate_tiny_ade20k`: no pretrained download,
small images, no loader worker processes, a log line per iteration."""

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
COMMON_TINY = [
    'model.backbone.init_cfg=None', 'default_hooks.logger.interval=1'
] + [
    f'{loader}.{key}' for loader in LOADERS
    for key in ('num_workers=0', 'persistent_workers=False')
]
DET_TINY = COMMON_TINY + [
    'train_cfg.max_epochs=1',
    'train_dataloader.dataset.pipeline.2.scale=(128,96)',
    'val_dataloader.dataset.pipeline.1.scale=(128,96)',
    'test_dataloader.dataset.pipeline.1.scale=(128,96)',
]
SEG_TINY = COMMON_TINY + [
    'train_cfg.max_iters=2',
    'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2',
    'train_dataloader.batch_size=2',
    'model.data_preprocessor.size=(64,64)',
    'train_dataloader.dataset.pipeline.2.scale=(128,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
    'val_dataloader.dataset.pipeline.1.scale=(128,96)',
    'test_dataloader.dataset.pipeline.1.scale=(128,96)',
]
