"""Recognising our own forwarded telemetry when it comes back to us.

The agent forwards the spans it receives to its trace exporters. If one of them points at
the agent's own receiver (a Jaeger host name that resolves to this machine, a copy-pasted
``127.0.0.1:4318``), every span would come back and be forwarded again, forever: tens of
thousands of spans a second from one. So every request our OTLP exporters send carries
this process's instance id in :data:`INSTANCE_HEADER`, and the receiver refuses a request
carrying its own id. Another agent's id is fine: chaining one workstation's monitor into a
studio's is legitimate.
"""

from __future__ import annotations

import os

__all__ = ["INSTANCE_HEADER", "instance_id"]

INSTANCE_HEADER = "Timeline-Telemetry-Instance"
_id: list[str] = []


def instance_id() -> str:
    """This process's random id (made on first use)."""
    if not _id:
        # os.urandom is what secrets.token_hex reads; importing secrets would map libcrypto
        # (~3.4 MB resident) into every agent through hashlib.
        _id.append(os.urandom(8).hex())
    return _id[0]
