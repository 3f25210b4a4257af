from . import test_foundation
from . import test_backend_access
from . import test_backend_concurrency
from . import test_backend_payment
from . import test_backend_payment_method
from . import test_backend_worker
from . import test_tours_caisse_ap
from . import test_tours_screenshots
