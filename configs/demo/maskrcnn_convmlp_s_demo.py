# Mask R-CNN-ConvMLP-S on the demo dataset (tools/misc/make_demo_data.py): the
# paper config with only what a short CPU run needs changed: data root and
# classes, image scale, schedule, and no ImageNet checkpoint download (the
# backbone trains from scratch). The data and schedule are shared with the
# RetinaNet demo in _base_/coco_demo.py.
_base_ = ['../maskrcnn_convmlp_s_coco.py', './_base_/coco_demo.py']

# Two images per step (the paper's per-GPU batch): a Mask R-CNN step costs
# about 2.3 s here, and more, smaller steps learn faster in a fixed time.
num_epochs = 4  # of 50 iterations (100 images, 2 per step)

model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))

# The demo_* settings of _base_/coco_demo.py under the paper config's keys,
# the pipelines loading the instance masks too.
data_root = _base_.demo_data_root
train_pipeline = [
    dict(step, with_mask=True) if step.type == 'LoadAnnotations' else step
    for step in _base_.demo_train_pipeline
]
test_pipeline = [
    dict(step, with_mask=True) if step.type == 'LoadAnnotations' else step
    for step in _base_.demo_test_pipeline
]
train_dataloader = dict(
    batch_size=2,
    **_base_.demo_loader,
    dataset=dict(**_base_.demo_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5,
    **_base_.demo_loader,
    dataset=dict(**_base_.demo_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = test_evaluator = _base_.demo_val_evaluator
train_cfg = dict(max_epochs=num_epochs, val_interval=num_epochs)
optim_wrapper = _base_.demo_optim_wrapper
param_scheduler = [
    _base_.demo_warmup,
    dict(_base_.demo_cosine, end=num_epochs)
]
default_hooks = _base_.demo_default_hooks
auto_scale_lr = _base_.demo_auto_scale_lr
for __key in [key for key in _base_ if key.startswith('demo_')]:
    del _base_[__key]  # assigned above: not kept as keys of their own
