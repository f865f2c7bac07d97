"""The console's settings: one dataclass, passed to `create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_console.registry import SessionRegistry
from scripts_library.recommend import Recommender

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["STATIC_DIR", "ConsoleSettings"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(slots=True)
class ConsoleSettings:
    """`database_url`: None resolves like all storage (`$CALLCENTER_DB_URL`, else the SQLite file).

    `registry`: the live sessions (the dialer adds calls through `app.state.console.live`, which wraps it).
    `recommender_factory`: builds the gold-seller `Recommender` once, in a thread at start-up (None: no
    recommendations). `static_dir`: the UI's files, served at `/` (None: no UI). `recordings_dir`: call
    recordings are only ever served from inside it.

    `metrics_registry`: served at `/metrics` for Prometheus when set (no login, like any exporter: its labels
    carry no personal data; restrict it by network). `desk`: the `dialer.desk.HandoffDesk` of a dialer running in
    this process (on this event loop), told which agents take handoffs (`POST /api/me/availability`); kept `Any`
    so the console does not import the dialer. `upload_dir`: where uploads wait while they are imported (None:
    the system's temporary directory).
    """

    database_url: str | None = None
    registry: SessionRegistry = field(default_factory=SessionRegistry)
    recommender_factory: Callable[[], Recommender] | None = None
    static_dir: Path | None = STATIC_DIR
    recordings_dir: Path = Path("data/recordings")
    migrate: bool = True  # bring the database to the code's schema in create_app
    session_lifetime_s: float = 12 * 3600.0  # absolute: a login lasts at most a working day
    session_idle_s: float = 2 * 3600.0  # no request (and no open board socket) for this long ends it
    touch_every_s: float = 60.0  # write `last_seen_at` at most this often per session
    secure_cookies: bool | None = None  # None: Secure when the request came over https
    login_max_failures: int = 5  # per (username, client IP) ...
    login_window_s: float = 300.0  # ... within this many seconds; then 429 until the window passes
    board_recheck_s: float = 60.0  # the board socket re-checks its login session this often
    board_ping_s: float = 30.0
    argon2_time_cost: int = 3  # argon2-cffi's defaults (RFC 9106 low-memory profile); tests may lower them
    argon2_memory_kib: int = 65536
    upload_limit_bytes: int = 256 * 1024 * 1024  # lead files and number lists larger than this are refused (413)
    upload_dir: Path | None = None
    metrics_registry: CollectorRegistry | None = None
    desk: Any | None = None
