# Copyright 2026 l10n_fr_pos_caisse_ap_ip contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "POS: Caisse-AP payment protocol for France",
    "summary": "Card, check and ANCV payments on French terminals (Caisse-AP over IP)",
    # Successor of the OCA module 18.0.1.5.0, whose databases it upgrades.
    "version": "18.0.3.5.0",
    "category": "Point of Sale",
    "license": "AGPL-3",
    "author": "l10n_fr_pos_caisse_ap_ip contributors",
    "website": "https://github.com/l10n-fr-pos-caisse-ap/l10n_fr_pos_caisse_ap_ip",
    "maintainers": ["l10n-fr-pos-caisse-ap"],
    "development_status": "Beta",
    "depends": ["bus", "point_of_sale"],
    "data": [
        "security/ir.model.access.csv",
        "security/caisse_ap_security.xml",
        "data/ir_cron.xml",
        "wizard/pos_caisse_ap_relay_token_views.xml",
        "wizard/pos_caisse_ap_relay_pairing_code_views.xml",
        "wizard/pos_caisse_ap_review_views.xml",
        "wizard/pos_caisse_ap_terminal_finder_views.xml",
        "views/pos_payment_method_views.xml",
        "views/pos_caisse_ap_transaction_views.xml",
        "views/pos_payment_views.xml",
        "views/pos_caisse_ap_relay_views.xml",
        "views/pos_caisse_ap_attention_views.xml",
        "views/pos_session_views.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "l10n_fr_pos_caisse_ap_ip/static/src/**/*",
        ],
        "web.assets_tests": [
            "l10n_fr_pos_caisse_ap_ip/static/tests/tours/**/*",
        ],
        # The waiting logic alone: it imports nothing from the POS.
        "web.assets_unit_tests": [
            "l10n_fr_pos_caisse_ap_ip/static/src/app/constants.js",
            "l10n_fr_pos_caisse_ap_ip/static/src/app/payment_wait.js",
            "l10n_fr_pos_caisse_ap_ip/static/tests/unit/**/*",
        ],
    },
    "installable": True,
}
