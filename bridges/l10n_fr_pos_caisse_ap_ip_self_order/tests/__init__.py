from . import test_kiosk_payment
from . import test_tours_kiosk
from . import test_kiosk_till
from . import test_kiosk_committed
from . import test_kiosk_attacks
