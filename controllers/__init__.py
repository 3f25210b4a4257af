from . import relay
