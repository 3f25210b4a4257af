-- A neutralized copy (e.g. staging) must never reach a shop's real payment terminal.
UPDATE pos_payment_method
   SET fr_caisse_ap_ip_address = NULL
 WHERE fr_caisse_ap_ip_address IS NOT NULL;

-- Nor accept a shop relay's token: the copy has the production's token hashes.
UPDATE pos_caisse_ap_relay
   SET token_hash = NULL, token_prefix = NULL
 WHERE token_hash IS NOT NULL;
