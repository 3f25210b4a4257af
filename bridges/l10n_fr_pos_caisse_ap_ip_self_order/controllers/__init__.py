from . import kiosk_status
