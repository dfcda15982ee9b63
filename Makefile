# SpineKey: `make demo` (set-up, synthetic data, CPU training, inference, metrics) and `make test`.
PY := .venv/bin/python
DEMO_DATA := data/synthetic
DEMO_WORK := work_dirs/demo
DEMO_CFG := configs/spinekey/spinekey_demo_cpu.py

.PHONY: setup lock demo test aasce level-chain-check indicators clean-demo help browser-deps browser-test

help:
	@echo "make setup   create .venv and install SpineKey (mmcv from ../shared/wheelhouse or compiled)"
	@echo "make demo    synthetic data -> CPU training -> inference -> metrics (about 20 min on 2 cores)"
	@echo "make test    run the test suite"
	@echo "make lock    write constraints.txt from .venv (the versions make setup installs; after a green make test)"
	@echo "make aasce AASCE_DIR=/path/to/aasce2019   convert, split, train both stages (CPU, ~2 h 10 min), evaluate on AASCE 2019"
	@echo "make level-chain-check   the level chain checked on synthetic columns with C7 / the sacrum (~20 min)"
	@echo "make indicators OUT=dir   re-run matching and evaluation on an inference.sh output folder"
	@echo "make browser-test   install Chromium (Debian package) when missing, then test report.html in it"

setup:
	@bash scripts/setup_env.sh

lock:
	@bash scripts/refresh_constraints.sh

demo: setup
	@bash scripts/run_demo.sh

test: setup
	.venv/bin/ruff check spinekey tools tests
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=15 tests

browser-deps:  # headless Chromium for the report's browser test (Debian's package; root or sudo)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

browser-test: setup browser-deps
	$(PY) -m pytest -q -p no:cacheprovider tests/test_visualization/test_report.py

aasce: setup  # AASCE 2019 end to end: make aasce AASCE_DIR=/path/to/aasce2019
	@bash scripts/run_aasce.sh $(AASCE_DIR)

level-chain-check: setup  # the learned level chain on exact truth (docs/aasce.md)
	@bash scripts/level_chain_synthetic.sh

indicators:  # re-run matching + evaluation on an inference.sh output folder: make indicators OUT=dir
	@bash tools/generate_indicators.sh $(OUT)

clean-demo:
	rm -rf $(DEMO_DATA) $(DEMO_WORK)
