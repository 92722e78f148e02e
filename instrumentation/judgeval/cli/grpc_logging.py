"""Keep gRPC's C-core logging off the CLI's stderr, unless the user asked for it.

gRPC's core logs through its own logger, straight to stderr, whatever Python's ``logging`` says: a TLS
handshake with a server the CLI does not trust printed ``I1205 ... ssl_transport_security.cc] Handshake
failed ...`` before the CLI's own ``judgeval: error:`` line, which already names the cause and the fix.
The core reads its settings from the environment once, when ``grpc`` is first imported, so the CLI sets
them before it imports ``grpc`` (command modules load it only once a command runs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import Final

GRPC_VERBOSITY: Final = "GRPC_VERBOSITY"
"""gRPC's own variable (not ours): the least severity the C-core logs (``DEBUG``, ``INFO``, ``ERROR``,
``NONE``)."""

GRPC_TRACE: Final = "GRPC_TRACE"
"""gRPC's own variable (not ours): the C-core tracers to turn on (e.g. ``handshaker,http``)."""


def quiet_grpc_logging(environ: MutableMapping[str, str] = os.environ) -> None:
    """Turn the C-core's log off (``GRPC_VERBOSITY=NONE``) when the user set neither ``GRPC_VERBOSITY``
    nor ``GRPC_TRACE``: either one means they want gRPC's own diagnostics, which then are left as asked.
    Nothing changes once ``grpc`` is imported (the CLI called in a process that uses gRPC already)."""
    if "grpc" in sys.modules:
        return
    if GRPC_VERBOSITY not in environ and GRPC_TRACE not in environ:
        environ[GRPC_VERBOSITY] = "NONE"
