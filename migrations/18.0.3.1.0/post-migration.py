"""What each relay said at its last poll moves to its presence row.

The relay's own row no longer holds it (every poll wrote that row, which
starts through the relay lock). Copied, a relay that polled a moment ago
stays online through the upgrade; the old columns are dropped so that no one
reads them stale.
"""

COLUMNS = (
    "last_seen",
    "version",
    "protocol",
    "outcomes_waiting",
    "last_error",
    "last_address",
)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'pos_caisse_ap_relay' AND column_name IN %s",
        (COLUMNS,),
    )
    if len(cr.fetchall()) != len(COLUMNS):
        return
    cr.execute(
        """
        INSERT INTO pos_caisse_ap_relay_presence
               (relay_id, last_seen, version, protocol, outcomes_waiting,
                last_error, last_address)
        SELECT id, last_seen, version, protocol, outcomes_waiting, last_error,
               last_address
          FROM pos_caisse_ap_relay
         WHERE last_seen IS NOT NULL
        ON CONFLICT (relay_id) DO NOTHING
        """
    )
    cr.execute(
        "ALTER TABLE pos_caisse_ap_relay "
        + ", ".join(f"DROP COLUMN {column}" for column in COLUMNS)
    )
