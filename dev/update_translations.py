"""Regenerate i18n/<addon>.pot and merge it into every .po file, for the addon
and each bridge (bridges/<addon>/i18n/).

Installs the addon into a throwaway database (no demo data), exports the
template with Odoo's own exporter (Python, XML and the POS JavaScript strings),
merges it into the existing translations (new strings get an empty msgstr,
vanished ones are dropped) and reports what is still untranslated.

Usage: python3 dev/update_translations.py
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from odoo_setup import ensure_odoo
from prerequisites import (
    ADDON,
    BRIDGES_DIR,
    REPO,
    SetupError,
    Workspace,
    drop_database,
    ensure_postgresql,
    log,
)

LANGUAGES = ("fr", "es")


def install(workspace, db_name, addons):
    workspace.odoo(
        "-d", db_name, "-i", ",".join(addons), "--without-demo=all",
        "--stop-after-init", "--log-level=warn",
    )  # fmt: skip


def export_template(workspace, db_name, addon, pot_path):
    workspace.odoo(
        "-d", db_name, f"--i18n-export={pot_path}", f"--modules={addon}",
        "--log-level=warn",
    )  # fmt: skip


def foreign_place(path):
    """Whether an exported string's place is not the addon's own code: Odoo's
    exporter reads every file under the addon's folder, so also the bridges'
    (their strings belong to their own catalogues) and the hidden folders,
    such as the .venv/ that `make test` builds there (its libraries' strings)."""
    inside = f"addons/{ADDON}/"
    if inside not in path:
        return False
    first = path.split(inside, 1)[1].split("/", 1)[0]
    return first == "bridges" or first.startswith(".")


def drop_foreign_strings(pot_path):
    import polib

    template = polib.pofile(str(pot_path))
    for entry in list(template):
        places = [path for path, _line in entry.occurrences]
        if places and all(foreign_place(path) for path in places):
            template.remove(entry)
    template.save(str(pot_path))


def merge(pot_path, po_path, lang):
    import polib  # an Odoo requirement: imported once Odoo is known to be there

    template = polib.pofile(str(pot_path))
    if po_path.exists():
        catalog = polib.pofile(str(po_path))
    else:
        catalog = polib.POFile()
        catalog.metadata = dict(template.metadata, Language=lang)
    catalog.merge(template)
    # Obsolete entries only clutter a module's catalogue: Odoo never reads them.
    for entry in [e for e in catalog if e.obsolete]:
        catalog.remove(entry)
    catalog.metadata["Language"] = lang
    catalog.save(str(po_path))
    missing = [e.msgid for e in catalog if not e.msgstr or "fuzzy" in e.flags]
    return len(catalog), missing


def pretty_format_po(i18n):
    """Give the catalogues the layout CI checks (oca-checks-po from `make lint`)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    checker = cache / f"{ADDON}-lint" / "venv" / "bin" / "oca-checks-po"
    if not checker.exists():
        log("run `make lint` once, then this again: it formats the .po files like CI")
        return
    files = sorted(str(path) for path in i18n.glob("*.po*"))
    subprocess.run(
        [str(checker), "--fix", "--no-verbose", "--no-exit", *files], check=False
    )


def main():
    try:
        odoo_root = ensure_odoo()
        ensure_postgresql()
    except SetupError as exc:
        log(f"cannot export the translations: {exc}")
        return 2
    workspace = Workspace(odoo_root, "caisse_ap_i18n")
    db_name = f"caisse_ap_i18n_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
    addons = {ADDON: REPO / "i18n"}
    for bridge in sorted(BRIDGES_DIR.glob("*/__manifest__.py")):
        addons[bridge.parent.name] = bridge.parent / "i18n"
    try:
        workspace.write_config(db_name)
        install(workspace, db_name, addons)
        for addon, i18n in addons.items():
            i18n.mkdir(exist_ok=True)
            export_template(workspace, db_name, addon, i18n / f"{addon}.pot")
        drop_foreign_strings(REPO / "i18n" / f"{ADDON}.pot")
    finally:
        drop_database(db_name, workspace.data_dir)
        workspace.cleanup()
    for addon, i18n in addons.items():
        pot_path = i18n / f"{addon}.pot"
        results = [
            (lang, *merge(pot_path, i18n / f"{lang}.po", lang)) for lang in LANGUAGES
        ]
        pretty_format_po(i18n)
        for lang, total, missing in results:
            # An empty msgstr is also how a translation equal to English is kept.
            log(f"{addon} {lang}.po: {total} strings, {len(missing)} empty or fuzzy")
            for msgid in missing:
                print(f"    {msgid[:100]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
