# RetinaNet-ConvMLP-S on the StarDist nuclei (tools/dataset_converters/
# nuclei2coco.py: three quadrants train, the fourth is held out), from
# scratch: the paper config with the data, one class, a short CPU recipe
# (_base_/nuclei.py) and no ImageNet checkpoint download. `make demo` trains,
# tests (bbox AP on the held-out quadrant) and draws it.
_base_ = ['../retinanet_convmlp_s_coco.py', './_base_/nuclei.py']

# Dense pictures (up to 180 nuclei in mnfinder's): more detections per
# picture than the COCO config's 100.
model = dict(
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=1),
    test_cfg=dict(max_per_img=300))

# The nuclei_* settings of _base_/nuclei.py under the paper config's keys.
data_root = _base_.nuclei_data_root
object_size = _base_.nuclei_object_size
train_pipeline = _base_.nuclei_train_pipeline
test_pipeline = _base_.nuclei_test_pipeline
train_dataloader = _base_.nuclei_train_dataloader
val_dataloader = test_dataloader = _base_.nuclei_val_dataloader
val_evaluator = test_evaluator = _base_.nuclei_val_evaluator
# The paper's epoch loop keys go: the demo counts iterations.
train_cfg = dict(_delete_=True, **_base_.nuclei_train_cfg)
optim_wrapper = _base_.nuclei_optim_wrapper
param_scheduler = _base_.nuclei_param_scheduler
default_hooks = _base_.nuclei_default_hooks
log_processor = _base_.nuclei_log_processor
auto_scale_lr = _base_.nuclei_auto_scale_lr
for __key in [key for key in _base_ if key.startswith('nuclei_')]:
    del _base_[__key]  # assigned above: not kept as keys of their own
