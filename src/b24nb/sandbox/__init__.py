"""A local Bitrix24 REST emulator ("sandbox portal") over real HTTP on 127.0.0.1.

It imports nothing from the rest of b24nb: an emulator that shared code with the client
would mirror the client's bugs, and tests against it would prove nothing.
"""

from __future__ import annotations

from .api import Latency
from .config import SandboxConfig
from .core import Sandbox
from .faults import Faults
from .limits import Stats

__all__ = ["Faults", "Latency", "Sandbox", "SandboxConfig", "Stats"]
