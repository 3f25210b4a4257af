from . import pos_caisse_ap_session_total
