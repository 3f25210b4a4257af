"""The exported template keeps the addon's own strings only."""

import polib
import update_translations
from prerequisites import ADDON


def _entry(msgid, *places):
    return polib.POEntry(msgid=msgid, msgstr="", occurrences=[(p, "0") for p in places])


def test_strings_found_only_in_bridges_or_hidden_folders_are_dropped(tmp_path):
    code = f"code:addons/{ADDON}"
    template = polib.POFile()
    template.append(_entry("Own", f"{code}/models/pos_payment_method.py"))
    template.append(
        _entry(
            "Shared",
            f"{code}/bridges/{ADDON}_self_order/models/x.py",
            f"{code}/wizard/y.py",
        )
    )
    template.append(_entry("Bridge's", f"{code}/bridges/{ADDON}_self_order/z.py"))
    # What `make test`'s .venv/ inside the clone brings (passlib's Django glue).
    template.append(
        _entry(
            "algorithm",
            f"{code}/.venv/lib/python3.11/site-packages/passlib/ext/django/utils.py",
        )
    )
    pot = tmp_path / "addon.pot"
    template.save(str(pot))

    update_translations.drop_foreign_strings(pot)

    assert [entry.msgid for entry in polib.pofile(str(pot))] == ["Own", "Shared"]
