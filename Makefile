# Set-up, tests, style checks, the demo and the benchmark. Every target works on a
# fresh machine by itself (set-up runs first when needed and takes seconds once done).
PY := .venv/bin/python

# make demo MODEL=retinanet|maskrcnn|semfpn
MODEL ?= retinanet
DEMO_CONFIG_retinanet := configs/demo/retinanet_convmlp_s_demo.py
DEMO_CONFIG_maskrcnn := configs/demo/maskrcnn_convmlp_s_demo.py
DEMO_CONFIG_semfpn := configs/demo/fpn_convmlp_s_demo.py
DEMO_DATA_retinanet := coco
DEMO_DATA_maskrcnn := coco
DEMO_DATA_semfpn := ade20k
DEMO_CONFIG = $(DEMO_CONFIG_$(MODEL))
DEMO_DIR ?= work_dirs/demo_$(MODEL)

.PHONY: setup test test-slow lint lint-fix demo benchmark clean

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

# The main job on generated data: data -> tools/train.py -> tools/test.py (metrics),
# with the loss curve and drawn predictions left in $(DEMO_DIR).
demo: setup
	@if [ -z "$(DEMO_CONFIG)" ]; then \
	    echo "MODEL must be retinanet, maskrcnn or semfpn, got '$(MODEL)'"; exit 2; fi
	$(PY) tools/misc/make_demo_data.py --out data/demo --dataset $(DEMO_DATA_$(MODEL))
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
	    --work-dir $(DEMO_DIR) --show-dir $(DEMO_DIR)/predictions
	@echo "Loss curve: $(DEMO_DIR)/loss_curve.png; predictions drawn on the val images:" \
	    "$(DEMO_DIR)/predictions/"

benchmark: setup
	$(PY) tools/analysis_tools/benchmark.py $(ARGS)

clean:
	rm -rf work_dirs data/demo
