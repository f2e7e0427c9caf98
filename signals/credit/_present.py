"""credit's alert messages: the spread, how fast it widened, where it stands; the 2s10s heads-up."""

from __future__ import annotations

from signals._levels import pct_text
from signals.presentation import AlertText, Stamp, message, num
from storage.alerts import AlertEvent

HY_MEANING = (
    "Lenders demanding more to hold junk debt, fast: credit stress that usually comes with equity "
    "selling and a rush to safety."
)
CURVE_MEANING = (
    "The curve steepening in a hurry: the market pricing rate cuts fast (often stress) or long yields "
    "jumping. A heads-up only."
)


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    d = ev.data
    score = num(d, "score")
    rank = f"{pct_text(score)} of its history" if score is not None else "not ranked"
    if ev.key == "curve":
        spread, chg = num(d, "spread_bp"), num(d, "change_bp")
        ten, two = num(d, "dgs10"), num(d, "dgs2")
        if spread is None or chg is None or ten is None or two is None:
            return None
        head = f"2s10s {chg:+.0f} bp in 20 sessions, now {spread:+.0f} bp"
        inv = d.get("inverted_days")
        inv_s = f"; inverted for {inv} sessions" if isinstance(inv, int) and inv > 0 else ""
        first = f"10-year {ten:.2f}%, 2-year {two:.2f}% on {d.get('date')}; {rank}{inv_s}."
        return message(
            ev,
            head,
            first,
            CURVE_MEANING,
            {"Source": "Treasury yields (DGS10, DGS2) via FRED"},
            None,
            stamp,
            peak_text=pct_text,
        )
    oas, chg, h = num(d, "oas_bp"), num(d, "change_bp"), d.get("horizon_sessions")
    if oas is None or chg is None or not isinstance(h, int):
        return None
    head = f"High-yield spread {chg:+.0f} bp in {h} sessions, now {oas:.0f} bp"
    lvl = num(d, "level_pct")
    lvl_s = f"; the level is at the {pct_text(lvl)}" if lvl is not None else ""
    first = f"The widening is at the {rank}{lvl_s}. ICE BofA US High Yield OAS of {d.get('date')} via FRED."
    fields = {
        f"{hh}-session change": f"{v:+.0f} bp" for hh in (5, 20) if (v := num(d, f"chg_{hh}d_bp")) is not None
    }
    return message(ev, head, first, HY_MEANING, fields, None, stamp, peak_text=pct_text)
