"""Provider simulators: real HTTP servers on 127.0.0.1 implementing each
provider's documented contract, with fault injection, records of what was
accepted, and delivery callbacks. See :mod:`tests.simulators.base` for the
shared behaviour and each provider module for its contract.
"""

from .alphasms import AlphaSmsSim
from .base import FAULT_KINDS, CallbackAttempt, Delivery, Request, Simulator
from .media import MediaFetcher, MediaResult, MediaServer, make_audio
from .messagebird import MessageBirdSim
from .ninebits import NineBitsSim
from .receiver import CallbackReceiver
from .wawp import WawpSim

__all__ = [
    "FAULT_KINDS",
    "AlphaSmsSim",
    "CallbackAttempt",
    "CallbackReceiver",
    "Delivery",
    "MediaFetcher",
    "MediaResult",
    "MediaServer",
    "MessageBirdSim",
    "NineBitsSim",
    "Request",
    "Simulator",
    "WawpSim",
    "make_audio",
]
