# The README's commands. When python3 does not import Odoo 18.0, `make demo` and
# `make test` set it up in .venv/ (from $ODOO_SRC, else a clone of its 18.0 branch).
PYTHON ?= python3

.PHONY: help demo test test-engine test-dev lint readme wheel

help:
	@echo "make demo         demo database + simulator + Odoo on http://localhost:8069"
	@echo "                  (DEMO_ARGS=--relay: through a local shop relay, as on Odoo.sh)"
	@echo "make test         every test (engine, Odoo, browser tours) in a throwaway database"
	@echo "make test-engine  the protocol engine's tests only (no Odoo, no database)"
	@echo "make test-dev     the tests of dev/ (README generator, set-up), in make test's Python"
	@echo "make lint         ruff, pylint-odoo, OCA checks, prettier and eslint"
	@echo "make readme       README.rst and static/description/index.html from readme/*.rst"
	@echo "make wheel        build odoo-addon-l10n_fr_pos_caisse_ap_ip with whool"

demo:
	$(PYTHON) dev/run_demo.py $(DEMO_ARGS)

test:
	$(PYTHON) dev/run_tests.py

test-engine:
	$(PYTHON) dev/run_tests.py --engine-only

test-dev:
	$(PYTHON) dev/run_tests.py --dev-only

lint:
	bash dev/lint.sh

readme:
	$(PYTHON) dev/make_readme.py

wheel:
	$(PYTHON) dev/build_wheel.py
