# Set-up, tests, style checks, the demo and the benchmark. Every target works on a
# fresh machine by itself (set-up runs first when needed and takes seconds once done).
PY := .venv/bin/python

# make demo [DATA=nuclei|shapes] [MODEL=retinanet|semfpn|maskrcnn]
# (maskrcnn on the shapes only: docs/nuclei.md says why)
# DATA=nuclei (default): the hand-annotated stardist nuclei
# (tools/dataset_converters/nuclei2coco.py, docs/nuclei.md);
# DATA=shapes: shapes pasted on photographs (tools/misc/make_demo_data.py).
DATA ?= nuclei
MODEL ?= retinanet
DEMO_CONFIG_nuclei_retinanet := configs/demo/retinanet_convmlp_s_nuclei.py
DEMO_CONFIG_nuclei_semfpn := configs/demo/fpn_convmlp_s_nuclei.py
DEMO_CONFIG_shapes_retinanet := configs/demo/retinanet_convmlp_s_demo.py
DEMO_CONFIG_shapes_maskrcnn := configs/demo/maskrcnn_convmlp_s_demo.py
DEMO_CONFIG_shapes_semfpn := configs/demo/fpn_convmlp_s_demo.py
DEMO_DATA_retinanet := coco
DEMO_DATA_maskrcnn := coco
DEMO_DATA_semfpn := ade20k
DEMO_CONFIG = $(DEMO_CONFIG_$(DATA)_$(MODEL))
DEMO_DIR ?= work_dirs/demo_$(DATA)_$(MODEL)
NUCLEI := data/nuclei
# What infer.py draws: the held-out nuclei quadrant, or for the shapes a
# photograph outside their dataset (scikit-image's stereo pair, which
# tools/misc/demo_shapes.py does not use).
DEMO_INPUT_nuclei := $(NUCLEI)/images/val
DEMO_INPUT_shapes = $$($(PY) -c "import os, skimage.data; \
    print(os.path.join(os.path.dirname(skimage.data.__file__), 'motorcycle_left.png'))")
# make demo-compare: RetinaNet with ConvMLP-S, then with ResNet-50, on the
# nuclei with the same schedule; a finished run (COMPARE_DIR/NAME/trained)
# is not trained again.
COMPARE_DIR ?= work_dirs/compare_nuclei
COMPARE_RUNS := convmlp_s:configs/demo/retinanet_convmlp_s_nuclei.py \
    r50:configs/demo/retinanet_r50_nuclei.py

.PHONY: setup test test-slow lint lint-fix demo demo-compare nuclei-data benchmark clean

setup:
	bash tools/setup_env.sh

# The README's test command (CI runs it): fast tests, set-up first when needed.
test: setup
	$(PY) -m pytest tests -m "not slow" -q

# The slow end-to-end checks (several minutes each; CI runs them too).
test-slow: setup
	$(PY) -m pytest tests -m slow -q || [ $$? -eq 5 ]

# flake8, isort and yapf (setup.cfg) in check mode, and whitespace checks; needs only
# the pinned checkers of requirements/lint.txt, not the full set-up (a few seconds).
lint:
	bash tools/lint.sh

# Rewrite the sources with isort and yapf.
lint-fix:
	bash tools/lint.sh --fix

# The nuclei in the COCO layout and as label maps (needs the stardist wheel's
# data: `pip install --no-deps stardist==0.9.2`, part of the set-up).
nuclei-data: setup
	@[ -f $(NUCLEI)/annotations/instances_val.json ] || \
	    $(PY) tools/dataset_converters/nuclei2coco.py --out $(NUCLEI)

# The main job: data -> tools/train.py -> tools/test.py (metrics on the
# held-out part) -> tools/infer.py drawing the predictions -> the loss curve,
# all left in $(DEMO_DIR).
demo: setup
	@if [ -z "$(DEMO_CONFIG)" ]; then echo "DATA=nuclei takes MODEL=retinanet or" \
	    "semfpn, DATA=shapes also maskrcnn (docs/nuclei.md); got '$(DATA)' '$(MODEL)'"; exit 2; fi
	@if [ "$(DATA)" = shapes ]; then \
	    $(PY) tools/misc/make_demo_data.py --out data/demo --dataset $(DEMO_DATA_$(MODEL)) \
	        --overwrite; \
	else $(MAKE) --no-print-directory nuclei-data; fi
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
	    --work-dir $(DEMO_DIR) --show-dir $(DEMO_DIR)/predictions
	$(PY) tools/infer.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
	    $(DEMO_INPUT_$(DATA)) --out-dir $(DEMO_DIR)/infer
	$(PY) tools/analysis_tools/plot_curves.py $(DEMO_DIR) --keys loss \
	    --out $(DEMO_DIR)/loss_curve.png
	@echo "Loss curve: $(DEMO_DIR)/loss_curve.png; predictions drawn by test.py on the" \
	    "held-out images: $(DEMO_DIR)/predictions/, by infer.py: $(DEMO_DIR)/infer/vis/"

# ConvMLP-S against ResNet-50 (both from scratch, same data and schedule, one
# after the other), then AP, AP50, seconds per iteration and parameters.
demo-compare: nuclei-data
	@for run in $(COMPARE_RUNS); do name=$${run%%:*}; config=$${run#*:}; \
	    dir=$(COMPARE_DIR)/$$name; \
	    if [ -f $$dir/trained ]; then echo "$$dir: trained"; continue; fi; \
	    $(PY) tools/train.py $$config --work-dir $$dir && $(PY) -c "import sys; \
	        from mmconvmlp.utils import output_file as f; open(f(sys.argv[1], \
	        'make demo-compare'), 'w').close()" $$dir/trained || exit 1; \
	done
	$(PY) tools/analysis_tools/compare_runs.py \
	    $(foreach run,$(COMPARE_RUNS),$(COMPARE_DIR)/$(firstword $(subst :, ,$(run))))
	$(PY) tools/analysis_tools/plot_curves.py \
	    $(foreach run,$(COMPARE_RUNS),$(COMPARE_DIR)/$(firstword $(subst :, ,$(run)))) \
	    --keys loss --out $(COMPARE_DIR)/loss_curves.png

benchmark: setup
	$(PY) tools/analysis_tools/benchmark.py $(ARGS)

# Only what the project wrote (its manifests list the files); anything else in
# these folders stays and is named.
clean:
	@PY=$(PY); [ -x $$PY ] || PY=python3; \
	    $$PY tools/misc/clean.py work_dirs data/demo $(NUCLEI)
