import build_wheel

PREFIX = "odoo/addons/l10n_fr_pos_caisse_ap_ip/"
META = "odoo_addon_l10n_fr_pos_caisse_ap_ip-18.0.3.0.0.dist-info/"


def test_development_tools_stay_out_of_the_addon():
    names = [
        "__manifest__.py",
        "models/pos_payment_method.py",
        "tests/engine/conftest.py",
        "static/description/icon.png",
        "pyproject.toml",
        "bench/lanes.py",
        "dev/run_demo.py",
        "dev/tests/test_build_wheel.py",
        ".ci/run",
        "Makefile",
        ".gitignore",
        ".pylintrc-mandatory",
    ]
    assert build_wheel.addon_files(names) == names[:5]


def test_the_repository_splits_into_addon_and_tools():
    files = build_wheel.repository_files()
    kept = build_wheel.addon_files(files)
    assert "__manifest__.py" in kept and "caisse_ap/__init__.py" in kept
    assert "static/description/index.html" in kept
    dropped = set(files) - set(kept)
    assert "dev/build_wheel.py" in dropped and "bench/common.py" in dropped


def test_listing_finds_strangers_and_missing_files():
    expected = ["__manifest__.py", "models/x.py", "pyproject.toml"]
    good = [PREFIX + "__manifest__.py", PREFIX + "models/x.py", META + "RECORD"]
    assert build_wheel.unexpected_entries(good, expected) == ([], [])
    bad = [PREFIX + "__manifest__.py", PREFIX + "bench/lanes.py", META + "RECORD"]
    extra, missing = build_wheel.unexpected_entries(bad, expected)
    assert extra == [PREFIX + "bench/lanes.py"]
    assert missing == [PREFIX + "models/x.py"]


def test_a_bridge_is_a_wheel_of_its_own():
    bridge = "bridges/l10n_fr_pos_caisse_ap_ip_self_order/"
    files = build_wheel.repository_files()
    assert not [name for name in build_wheel.addon_files(files) if "bridges/" in name]
    kept = build_wheel.addon_files(files, bridge)
    assert "__manifest__.py" in kept and "models/pos_payment_method.py" in kept
    assert not [name for name in kept if name.startswith(("caisse_ap/", "bench/"))]
