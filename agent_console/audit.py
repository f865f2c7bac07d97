"""The console's audit log writer: entries go to storage's `audit_log` from one background thread, in order.

REST routes await their entry (it is written before the response); socket actions (listen, takeover, hand-back,
whisper) hand theirs over without waiting, so a slow disk never delays a call. `details` never holds phone
numbers or transcript text.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from storage import Database
from storage.models import AuditEntry
from storage.models.base import utcnow
from storage.repos.audit import AuditAction, record_audit

__all__ = ["RECOMMENDATION_USED", "Auditor"]

log = logging.getLogger(__name__)
RECOMMENDATION_USED = "recommendation_used"  # not (yet) an AuditAction member; the column takes any string
_KNOWN = frozenset(a.value for a in AuditAction)


class Auditor:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-audit")

    def write(
        self,
        user_id: int | None,
        action: str,
        *,
        call_id: str | None = None,
        lead_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Write one entry now (sync: from a worker thread, never on the event loop)."""
        with self._db.transaction() as s:
            if action in _KNOWN:
                record_audit(
                    s, user_id=user_id, action=AuditAction(action), call_id=call_id, lead_id=lead_id, details=details
                )
            else:
                entry = AuditEntry(
                    user_id=user_id, action=action, call_id=call_id, lead_id=lead_id, details=dict(details or {})
                )
                entry.at = utcnow()
                s.add(entry)

    def submit(self, user_id: int | None, action: str, **kwargs: Any) -> Future[None]:
        """Queue one entry for the audit thread; failures are logged (by action, never by content)."""
        future = self._pool.submit(self.write, user_id, action, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    async def record(self, user_id: int | None, action: str, **kwargs: Any) -> None:
        """Write one entry off the loop and wait for it."""
        await asyncio.wrap_future(self.submit(user_id, action, **kwargs))

    def flush(self) -> None:
        """Wait until every entry queued so far is written (sync; tests and shutdown)."""
        self._pool.submit(lambda: None).result()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        self._pool.shutdown(wait=True)


def _log_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        log.error("audit entry not written: %s", type(error).__name__)
