from . import test_kiosk_payment
