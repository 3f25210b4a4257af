#!/usr/bin/env bash
# Every linter CI runs. Python linters live in their own virtual environment and
# the JavaScript ones in .ci/node_modules, so that neither changes Odoo's packages.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
addon=l10n_fr_pos_caisse_ap_ip
cache=${XDG_CACHE_HOME:-$HOME/.cache}/$addon-lint
venv=$cache/venv
pins="ruff==0.17.6 pylint-odoo==10.0.12 oca-odoo-pre-commit-hooks==0.2.27"

if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pins" ]; then
    echo "[$addon] installing the Python linters ($pins)"
    rm -rf "$venv" && python3 -m venv "$venv" \
        && "$venv/bin/pip" install --quiet $pins && echo "$pins" > "$venv/pins" \
        || { echo "[$addon] could not install the Python linters"; exit 2; }
fi
# The Apps page's HTML depends on the docutils version: the same for everyone.
# Added beside the pins, so that branches with other pins do not rebuild the venv.
docutils_pin=0.20.1
"$venv/bin/python" -c "import docutils, sys; sys.exit(docutils.__version__ != '$docutils_pin')" \
    2>/dev/null || "$venv/bin/pip" install --quiet "docutils==$docutils_pin" \
    || { echo "[$addon] could not install docutils"; exit 2; }
if ! cmp -s "$repo/.ci/package.json" "$repo/.ci/node_modules/.installed-from" 2>/dev/null; then
    echo "[$addon] installing the JavaScript linters"
    (cd "$repo/.ci" && npm install --no-audit --no-fund --silent) \
        && cp "$repo/.ci/package.json" "$repo/.ci/node_modules/.installed-from" \
        || { echo "[$addon] could not install the JavaScript linters"; exit 2; }
fi

# Odoo-aware checkers know a module by its folder name, whatever the clone is called.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$repo" "$work/$addon"

status=0
step() {
    echo "== $1"
    shift
    "$@" || { status=1; echo "-- FAILED: $*"; }
}
cd "$repo"
step "ruff format" "$venv/bin/ruff" format --check .
step "ruff lint" "$venv/bin/ruff" check .
# The bridges (bridges/<addon>/) are addons of their own, checked alike.
shopt -s nullglob
bridges=("$repo"/bridges/*/)
bridges=("${bridges[@]%/}")
step "pylint-odoo (mandatory OCA checks)" \
    "$venv/bin/pylint" --rcfile="$repo/.pylintrc-mandatory" "$work/$addon" "${bridges[@]}"
for module in "$work/$addon" "${bridges[@]}"; do
    step "OCA module checks ($(basename "$module"))" \
        "$venv/bin/oca-checks-odoo-module" "$module/__manifest__.py"
done
po_files=()
for module in "$work/$addon" "${bridges[@]}"; do
    po_files+=("$module"/i18n/*.po "$module"/i18n/*.pot)
done
if [ ${#po_files[@]} -gt 0 ]; then
    step "OCA .po checks" "$venv/bin/oca-checks-po" "${po_files[@]}"
fi
# README.rst and the Apps page are generated from readme/ (docutils must accept
# them: Odoo renders the page, a warning would show there too).
# In the linters' venv: the HTML depends on the docutils version, pinned there.
step "README.rst and index.html up to date" "$venv/bin/python" dev/make_readme.py --check
node_bin="$repo/.ci/node_modules/.bin"
step "prettier" "$node_bin/prettier" --config "$repo/.ci/prettier.config.mjs" \
    --check --no-error-on-unmatched-pattern \
    "static/**/*.js" "static/**/*.xml" "views/**/*.xml" "data/**/*.xml" \
    "security/**/*.xml" "wizard/**/*.xml" "report/**/*.xml" \
    "bridges/*/static/**/*.js" "bridges/*/static/**/*.xml"
step "eslint" "$node_bin/eslint" --config "$repo/.ci/eslint.config.mjs" \
    "static/**/*.js" "bridges/*/static/**/*.js"
[ $status -eq 0 ] && echo "[$addon] lint: all checks passed" || echo "[$addon] lint: FAILED"
exit $status
