# Copyright 2026 l10n_fr_pos_caisse_ap_ip contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "POS Self Order: Caisse-AP payment terminals for France",
    "summary": "Self-order kiosks take card payments on Caisse-AP terminals",
    "version": "18.0.1.4.0",
    "category": "Point of Sale",
    "license": "AGPL-3",
    "author": "l10n_fr_pos_caisse_ap_ip contributors",
    "website": "https://github.com/l10n-fr-pos-caisse-ap/l10n_fr_pos_caisse_ap_ip",
    "maintainers": ["l10n-fr-pos-caisse-ap"],
    "development_status": "Beta",
    "depends": ["l10n_fr_pos_caisse_ap_ip", "pos_self_order"],
    "auto_install": True,
    "data": ["views/pos_caisse_ap_transaction_views.xml"],
    "assets": {
        "pos_self_order.assets": [
            "l10n_fr_pos_caisse_ap_ip/static/src/app/constants.js",
            "l10n_fr_pos_caisse_ap_ip/static/src/app/payment_wait.js",
            "l10n_fr_pos_caisse_ap_ip_self_order/static/src/app/**/*",
        ],
        "point_of_sale._assets_pos": [
            "l10n_fr_pos_caisse_ap_ip_self_order/static/src/till/**/*",
        ],
        "web.assets_tests": [
            "l10n_fr_pos_caisse_ap_ip_self_order/static/tests/till_tours/**/*",
        ],
        "pos_self_order.assets_tests": [
            "l10n_fr_pos_caisse_ap_ip/static/tests/tours/screenshot_util.js",
            "l10n_fr_pos_caisse_ap_ip_self_order/static/tests/tours/**/*",
        ],
    },
    "installable": True,
}
