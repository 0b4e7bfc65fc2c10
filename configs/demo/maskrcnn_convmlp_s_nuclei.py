# Mask R-CNN-ConvMLP-S on the stardist nuclei (tools/dataset_converters/
# nuclei2coco.py), from scratch: the paper config with the data, one class,
# the schedule of _base_/nuclei.py and no ImageNet checkpoint download. At the
# converter's 2x scale nine nuclei in ten are wider than the smallest RPN
# anchor (32 px). A Mask R-CNN step costs about three RetinaNet steps here:
# it trains on 256x256 crops (a cut nucleus keeps its part inside) and is
# tested on the whole held-out quadrant (bbox and mask AP).
_base_ = ['../maskrcnn_convmlp_s_coco.py', './_base_/nuclei.py']

crop_size = (256, 256)
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)))

# The nuclei_* settings of _base_/nuclei.py under the paper config's keys,
# loading the instance masks too; random crops after the load.
data_root = _base_.nuclei_data_root
train_pipeline = []
for __step in _base_.nuclei_train_pipeline:
    if __step['type'] == 'LoadAnnotations':
        __step = dict(__step, with_mask=True)
    train_pipeline.append(__step)
    if __step['type'] == 'Resize':
        train_pipeline.append(
            dict(
                type='RandomCrop',
                crop_size=crop_size,
                recompute_bbox=True,
                allow_negative_crop=False))
test_pipeline = [
    dict(step, with_mask=True) if step.type == 'LoadAnnotations' else step
    for step in _base_.nuclei_test_pipeline
]
train_dataloader = dict(
    batch_size=4,
    **_base_.nuclei_loader,
    sampler=_base_.nuclei_train_sampler,
    dataset=dict(**_base_.nuclei_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    **_base_.nuclei_loader,
    dataset=dict(**_base_.nuclei_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = test_evaluator = dict(
    _base_.nuclei_val_evaluator, metric=['bbox', 'segm'])
# The paper's epoch loop keys go: the demo counts iterations.
train_cfg = dict(_delete_=True, **_base_.nuclei_train_cfg)
optim_wrapper = _base_.nuclei_optim_wrapper
param_scheduler = _base_.nuclei_param_scheduler
default_hooks = _base_.nuclei_default_hooks
log_processor = _base_.nuclei_log_processor
auto_scale_lr = _base_.nuclei_auto_scale_lr
for __key in [key for key in _base_ if key.startswith('nuclei_')]:
    del _base_[__key]  # assigned above: not kept as keys of their own
