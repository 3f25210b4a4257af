from . import pos_payment_method
from . import pos_caisse_ap_transaction
from . import pos_payment
from . import pos_caisse_ap_transaction_attention
from . import pos_caisse_ap_review
from . import pos_caisse_ap_session_total
from . import pos_session
from . import pos_payment_terminal_data
