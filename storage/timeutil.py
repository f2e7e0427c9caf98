"""Time helpers shared by storage, sources and signals.

Everything stored is UTC epoch seconds (``int``); conversions happen at the edges.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

_MIN_TS, _MAX_TS = -2_208_988_800, 7_258_118_400  # 1900-01-01 .. 2200-01-01
_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")


def to_epoch(dt: datetime) -> int:
    """Aware datetime (or naive = UTC) to epoch seconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def from_epoch(ts: int | float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def day_epoch(d: date) -> int:
    """Daily observations are stamped at 00:00 UTC of their trading date."""
    return to_epoch(datetime.combine(d, time(0, 0), tzinfo=UTC))


def iso(ts: int | float | datetime) -> str:
    """ISO-8601 UTC with a trailing ``Z`` (``2020-03-16T00:00:00Z``)."""
    dt = ts if isinstance(ts, datetime) else from_epoch(ts)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> int:
    """Parse a user- or file-supplied timestamp into epoch seconds.

    Accepts an ISO-8601 date (``2024-08-05``), an ISO-8601 datetime with or without an
    offset (naive = UTC), or epoch seconds / milliseconds (values above 1e11 are taken as
    milliseconds). Raises ``ValueError`` with a message that says what is allowed.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty timestamp")
    if _EPOCH_RE.match(s):
        x = float(s)
        if not math.isfinite(x):
            raise ValueError(f"timestamp {text!r} is not a finite number")
        if abs(x) > 1e11:
            x /= 1000.0
        if not _MIN_TS <= x <= _MAX_TS:
            raise ValueError(f"timestamp {text!r} is out of range (years 1900 to 2200)")
        return int(x)
    try:
        if len(s) == 10:
            ts = day_epoch(date.fromisoformat(s))
        else:
            ts = to_epoch(datetime.fromisoformat(s.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise ValueError(
            f"cannot read timestamp {text!r}: use an ISO-8601 date (2024-08-05), "
            "an ISO-8601 datetime (2024-08-05T14:30:00Z; naive = UTC) or epoch seconds/milliseconds"
        ) from None
    try:
        from_epoch(ts)  # 9999-12-31 at -14:00 is a valid ISO string but no instant we can hold
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"timestamp {text!r} is out of range (years 1 to 9999 in UTC)") from None
    return ts


def parse_date_arg(text: str) -> datetime:
    """A ``--from``/``--to``/``--since`` value: ISO date or datetime, UTC."""
    return from_epoch(parse_ts(text))


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` (also ``1h30m``)."""
    s = text.strip().lower().replace(" ", "")
    m = re.fullmatch(r"((?:\d+(?:\.\d+)?[smhdw])+)", s)
    if not m:
        raise ValueError(
            f"cannot read duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 30m, 1h, 2d)"
        )
    total = 0.0
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    for num, u in re.findall(r"(\d+(?:\.\d+)?)([smhdw])", s):
        total += float(num) * unit[u]
    if total <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=total)


def human_duration(seconds: float) -> str:
    """``3d 4h``, ``45m``, ``12s`` — two most significant units."""
    s = round(abs(seconds))
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size or (name == "s" and not parts):
            n, s = divmod(s, size)
            parts.append(f"{n}{name}")
        if len(parts) == 2:
            break
    return " ".join(parts)
