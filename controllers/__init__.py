from . import relay
from . import relay_pairing
