"""Name the Caisse-AP methods whose terminal address this addon refuses.

The OCA module accepted any address (its README suggested forwarding a port);
this addon sends nothing outside the private networks unless listed in a
system parameter. The log says which methods, and how to allow them, before
a customer meets the refusal at the till; their forms say it too.
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["pos.payment.method"]._caisse_ap_log_refused_addresses()
