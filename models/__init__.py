from . import pos_payment_method
from . import caisse_ap_transaction
from . import pos_payment
