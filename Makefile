# Set-up, tests, style checks, the demo and the benchmark. Every target works on a
# fresh machine by itself (set-up runs first when needed and takes seconds once done).
PY := .venv/bin/python

# make demo [DATA=nuclei|mnfinder|shapes] [MODEL=retinanet|maskrcnn|semfpn]
# DATA=nuclei (default): the hand-annotated StarDist nuclei
# (tools/dataset_converters/nuclei2coco.py, docs/nuclei.md);
# DATA=mnfinder: mnfinder's nuclei, its own train/test split
# (tools/dataset_converters/mnfinder2coco.py; the wheel is downloaded once);
# DATA=shapes: shapes pasted on photographs (tools/misc/make_demo_data.py).
# A run that finished (DEMO_DIR/trained) is tested again, not trained again.
# TRAIN_OPTIONS: more tools/train.py options for each training of demo and
# demo-compare, e.g. TRAIN_OPTIONS="--cfg-options train_cfg.max_iters=20".
DATA ?= nuclei
MODEL ?= retinanet
DEMO_CONFIG_shapes_retinanet := configs/demo/retinanet_convmlp_s_demo.py
DEMO_CONFIG_shapes_maskrcnn := configs/demo/maskrcnn_convmlp_s_demo.py
DEMO_CONFIG_shapes_semfpn := configs/demo/fpn_convmlp_s_demo.py
DEMO_DATA_retinanet := coco
DEMO_DATA_maskrcnn := coco
DEMO_DATA_semfpn := ade20k
CONFIG_PREFIX_retinanet := retinanet
CONFIG_PREFIX_maskrcnn := maskrcnn
CONFIG_PREFIX_semfpn := fpn
DEMO_CONFIG = $(or $(DEMO_CONFIG_$(DATA)_$(MODEL)),$(wildcard \
    configs/demo/$(CONFIG_PREFIX_$(MODEL))_convmlp_s_$(DATA).py))
DEMO_DIR ?= work_dirs/demo_$(DATA)_$(MODEL)
# What infer.py draws: the held-out pictures, or for the shapes a
# photograph outside their dataset (scikit-image's stereo pair).
DEMO_INPUT_nuclei := data/nuclei/images/val
DEMO_INPUT_mnfinder := data/mnfinder/images/test
DEMO_INPUT_shapes = $$($(PY) -c "import os, skimage.data; \
    print(os.path.join(os.path.dirname(skimage.data.__file__), 'motorcycle_left.png'))")
MNFINDER_WHEEL := data/downloads/mnfinder-1.2.3-py3-none-any.whl
# A finished training: a marker in the work directory, recorded in its
# manifest as written by the project (mmconvmlp.utils.output_file).
MARK_TRAINED = $(PY) -c "import sys; from mmconvmlp.utils import output_file as f; \
    open(f(sys.argv[1], 'make'), 'w').close()"
# make demo-compare [DATA=nuclei|mnfinder] [MODEL=...] [SEEDS="0 1"]: the
# demo with ConvMLP-S and with ResNet-50, same data, schedule and seeds, one
# run after the other; finished runs are not trained again.
COMPARE_DIR ?= work_dirs/compare_$(DATA)_$(MODEL)
SEEDS_mnfinder_retinanet := 0 1
SEEDS ?= $(or $(SEEDS_$(DATA)_$(MODEL)),0)
COMPARE_RUNS = $(foreach seed,$(SEEDS),convmlp_s_seed$(seed) r50_seed$(seed))

.PHONY: setup test test-slow lint lint-fix demo demo-compare nuclei-data mnfinder-data \
    benchmark clean

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
	@[ -f data/nuclei/annotations/instances_val.json ] || \
	    $(PY) tools/dataset_converters/nuclei2coco.py --out data/nuclei

# mnfinder's nuclei (train, test, val): the wheel's data files, read from the
# wheel (nothing of mnfinder is installed; it declares Python > 3.11).
mnfinder-data: setup
	@[ -f $(MNFINDER_WHEEL) ] || $(PY) -m pip download -q --no-deps \
	    --ignore-requires-python mnfinder==1.2.3 -d $(dir $(MNFINDER_WHEEL))
	@[ -f data/mnfinder/annotations/instances_test.json ] || \
	    $(PY) tools/dataset_converters/mnfinder2coco.py --out data/mnfinder \
	    --wheel $(MNFINDER_WHEEL)

# The main job: data -> tools/train.py -> tools/test.py (metrics on the
# held-out part) -> tools/infer.py drawing the predictions -> the loss curve,
# all left in $(DEMO_DIR).
demo: setup
	@if [ -z "$(DEMO_CONFIG)" ]; then echo "DATA=nuclei|mnfinder|shapes and" \
	    "MODEL=retinanet|maskrcnn|semfpn (docs/nuclei.md); got '$(DATA)' '$(MODEL)'"; exit 2; fi
	@if [ "$(DATA)" = shapes ]; then \
	    $(PY) tools/misc/make_demo_data.py --out data/demo --dataset $(DEMO_DATA_$(MODEL)) \
	        --overwrite; \
	else $(MAKE) --no-print-directory $(DATA)-data; fi
	@if [ -f $(DEMO_DIR)/trained ]; then echo "$(DEMO_DIR): trained"; else \
	    $(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR) $(TRAIN_OPTIONS) && \
	    $(MARK_TRAINED) $(DEMO_DIR)/trained; fi
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
	    --work-dir $(DEMO_DIR) --show-dir $(DEMO_DIR)/predictions
	$(PY) tools/infer.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
	    $(DEMO_INPUT_$(DATA)) --out-dir $(DEMO_DIR)/infer
	$(PY) tools/analysis_tools/plot_curves.py $(DEMO_DIR) --keys loss \
	    --out $(DEMO_DIR)/loss_curve.png
	@echo "Loss curve: $(DEMO_DIR)/loss_curve.png; predictions drawn by test.py on the" \
	    "held-out images: $(DEMO_DIR)/predictions/, by infer.py: $(DEMO_DIR)/infer/vis/"

# ConvMLP-S against ResNet-50 (both from scratch, same data, schedule and
# seeds), then each run's metrics, seconds per iteration and parameters, and
# the mean and spread per backbone.
demo-compare: $(DATA)-data
	@for run in $(COMPARE_RUNS); do backbone=$${run%_seed*}; seed=$${run##*_seed}; \
	    config=configs/demo/$(CONFIG_PREFIX_$(MODEL))_$${backbone}_$(DATA).py; \
	    dir=$(COMPARE_DIR)/$$run; \
	    if [ -f $$dir/trained ]; then echo "$$dir: trained"; continue; fi; \
	    $(PY) tools/train.py $$config --work-dir $$dir \
	        --cfg-options randomness.seed=$$seed $(TRAIN_OPTIONS) && \
	        $(MARK_TRAINED) $$dir/trained || exit 1; \
	done
	$(PY) tools/analysis_tools/compare_runs.py $(addprefix $(COMPARE_DIR)/,$(COMPARE_RUNS))
	$(PY) tools/analysis_tools/plot_curves.py $(addprefix $(COMPARE_DIR)/,$(COMPARE_RUNS)) \
	    --keys loss --out $(COMPARE_DIR)/loss_curves.png

benchmark: setup
	$(PY) tools/analysis_tools/benchmark.py $(ARGS)

# Only what the project wrote (its manifests list the files); anything else in
# these folders stays and is named.
clean:
	@PY=$(PY); [ -x $$PY ] || PY=python3; \
	    $$PY tools/misc/clean.py work_dirs data/demo data/nuclei data/mnfinder
