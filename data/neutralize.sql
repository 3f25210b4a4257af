-- A neutralized copy (e.g. staging) must never reach a shop's real payment terminal.
UPDATE pos_payment_method
   SET fr_caisse_ap_ip_address = NULL
 WHERE fr_caisse_ap_ip_address IS NOT NULL;
