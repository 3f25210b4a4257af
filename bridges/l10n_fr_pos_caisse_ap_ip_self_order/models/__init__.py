from . import pos_caisse_ap_transaction
from . import pos_order
from . import pos_payment_method
