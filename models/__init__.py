from . import pos_caisse_ap_relay
from . import pos_caisse_ap_relay_presence
from . import pos_caisse_ap_relay_probe
from . import pos_payment_method
from . import pos_caisse_ap_transaction
from . import pos_payment
from . import pos_session
