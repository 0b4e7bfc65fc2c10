# Set-up, tests and the demo. Every target works on a fresh machine by itself.
PY := .venv/bin/python
MODEL ?= retinanet

.PHONY: setup test test-slow demo benchmark clean

setup:
	bash tools/setup_env.sh

# The README's test command (CI runs it): fast tests, set-up first when needed.
test: setup
	$(PY) -m pytest tests -m "not slow" -q

# The slow end-to-end checks (several minutes each; CI runs them too).
test-slow: setup
	$(PY) -m pytest tests -m slow -q || [ $$? -eq 5 ]

clean:
	rm -rf work_dirs data/demo
