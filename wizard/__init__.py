from . import pos_caisse_ap_relay_token
from . import pos_caisse_ap_relay_pairing_code
from . import pos_caisse_ap_review
from . import pos_caisse_ap_terminal_finder
from . import pos_caisse_ap_terminal_finder_line
