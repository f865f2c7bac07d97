"""Free loopback ports for tests: see `telephony.ports` (one implementation for tests and benchmarks)."""

from telephony.ports import free_port

__all__ = ["free_port"]
