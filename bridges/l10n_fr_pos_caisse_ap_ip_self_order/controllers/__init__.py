from . import kiosk_payment
from . import kiosk_status
