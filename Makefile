# The README's commands. Odoo 18.0 must be importable by python3 (see README).
PYTHON ?= python3

.PHONY: help demo test test-engine lint wheel

help:
	@echo "make demo         demo database + simulator + Odoo on http://localhost:8069"
	@echo "make test         every test (engine, Odoo, browser tours) in a throwaway database"
	@echo "make test-engine  the protocol engine's tests only (no Odoo, no database)"
	@echo "make lint         ruff, pylint-odoo, OCA checks, prettier and eslint"
	@echo "make wheel        build odoo-addon-l10n_fr_pos_caisse_ap_ip with whool"

demo:
	$(PYTHON) tools/run_demo.py

test:
	$(PYTHON) tools/run_tests.py

test-engine:
	$(PYTHON) tools/run_tests.py --engine-only

lint:
	bash tools/lint.sh

wheel:
	$(PYTHON) tools/build_wheel.py
