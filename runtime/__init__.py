"""Odoo-side runtime that is not a model.

``worker``: the background thread on which payments wait for terminals (no
HTTP worker waits for a customer, no cursor is held meanwhile) and the spool
of outcomes the database could not take; ``spool_replay``: those outcomes
recorded later; ``cashier_labels``: the one table of what a cashier reads
about a payment, translated. It may import Odoo and the engine, never the
models: it reaches them through an environment or a record it is given, and
calls them only as ``transaction_calls`` lists.
"""
