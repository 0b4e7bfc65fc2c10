# Mask R-CNN-ConvMLP-S on the StarDist nuclei (tools/dataset_converters/
# nuclei2coco.py: three quadrants train, the fourth is held out), from
# scratch: the paper config with the data, one class, the CPU recipe of
# _base_/nuclei.py and no ImageNet checkpoint download. `make demo
# MODEL=maskrcnn` trains it, tests it (COCO bbox and segm AP on the held-out
# quadrant) and draws the masks.
_base_ = ['../maskrcnn_convmlp_s_coco.py', './_base_/nuclei.py']

# CPU settings (docs/speed.md, "Mask R-CNN on a CPU"): mmcv's RoIAlign runs
# on one thread and its cost grows with the RoIs, so the second stage samples
# 128 RoIs per picture (MMDetection's 512 is for 80 COCO classes) from the
# RPN's best 500 proposals; tested with up to 300 detections (dense pictures).
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=500), rcnn=dict(max_per_img=300)))

# The nuclei_* settings of _base_/nuclei.py under the paper config's keys.
data_root = _base_.nuclei_data_root
object_size = _base_.nuclei_object_size
# with the instance masks
train_pipeline = [
    dict(s, **_base_.nuclei_with_masks.get(s.type, {}))
    for s in _base_.nuclei_train_pipeline
]
test_pipeline = [
    dict(s, **_base_.nuclei_with_masks.get(s.type, {}))
    for s in _base_.nuclei_test_pipeline
]
train_dataloader = dict(
    _base_.nuclei_train_dataloader,
    dataset=dict(
        _base_.nuclei_train_dataloader.dataset, pipeline=train_pipeline))
val_dataloader = test_dataloader = dict(
    _base_.nuclei_val_dataloader,
    dataset=dict(_base_.nuclei_val_dataloader.dataset, pipeline=test_pipeline))
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
