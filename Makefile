# The README's commands. When python3 does not import Odoo 18.0, `make demo` and
# `make test` set it up in .venv/ (from $ODOO_SRC, else a clone of its 18.0 branch).
PYTHON ?= python3

.PHONY: help demo test test-engine test-tools lint readme wheel

help:
	@echo "make demo         demo database + simulator + Odoo on http://localhost:8069"
	@echo "                  (DEMO_ARGS=--relay: through a local shop relay, as on Odoo.sh)"
	@echo "make test         every test (engine, Odoo, browser tours) in a throwaway database"
	@echo "make test-engine  the protocol engine's tests only (no Odoo, no database)"
	@echo "make test-tools   the tests of tools/ (README generator, set-up), no Odoo"
	@echo "make lint         ruff, pylint-odoo, OCA checks, prettier and eslint"
	@echo "make readme       README.rst and static/description/index.html from readme/*.rst"
	@echo "make wheel        build odoo-addon-l10n_fr_pos_caisse_ap_ip with whool"

demo:
	$(PYTHON) tools/run_demo.py $(DEMO_ARGS)

test:
	$(PYTHON) tools/run_tests.py

test-engine:
	$(PYTHON) tools/run_tests.py --engine-only

test-tools:
	$(PYTHON) tools/run_tests.py --tools-only

lint:
	bash tools/lint.sh

readme:
	$(PYTHON) tools/make_readme.py

wheel:
	$(PYTHON) tools/build_wheel.py
