from . import pos_caisse_ap_relay_token
from . import pos_caisse_ap_review
