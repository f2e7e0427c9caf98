"""pyfedwatch's side of the cross-check. Runs inside the pyfedwatch virtual environment.

Reads the settlements flowwatch accepted (``trade_date,symbol,contract_month,settle``) and a job
list (JSON lines ``{"date", "fomc", "n"}``: the trade date, the meeting dates to give pyfedwatch,
how many upcoming meetings to ask for); writes one JSON line per trade date with pyfedwatch's
per-meeting figures (its summary table after it filled start and end prices), or the error it
raised. Usage: ``python peer.py SETTLEMENTS.csv JOBS.jsonl OUT.jsonl``.
"""

from __future__ import annotations

import csv
import json
import sys
import warnings

import pandas as pd
from pyfedwatch.fedwatch import FedWatch

warnings.simplefilter("ignore")


def main(settlements: str, jobs: str, out: str) -> int:
    rows: dict[str, list[tuple[str, float]]] = {}
    with open(settlements, newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["symbol"], []).append((r["trade_date"], float(r["settle"])))
    frames = {}
    for sym, pts in rows.items():
        pts.sort()
        idx = pd.DatetimeIndex(pd.to_datetime([d for d, _ in pts]), name="Date")
        frames[sym] = pd.DataFrame({"Close": [p for _, p in pts]}, index=idx)

    def read(symbol: str) -> pd.DataFrame:
        if symbol not in frames:
            raise KeyError(f"no settlements for {symbol}")
        return frames[symbol]

    with open(jobs) as f_in, open(out, "w") as f_out:
        for line in f_in:
            job = json.loads(line)
            res = {"date": job["date"]}
            err = None
            for n in range(job["n"], 0, -1):
                try:
                    fw = FedWatch(job["date"], n, job["fomc"], read)
                    bins = fw.generate_binary_hike_info()
                except (KeyError, ValueError, IndexError) as exc:
                    err = f"{type(exc).__name__}: {exc}"
                    continue
                summ = fw.fomc_data.summary
                res["months"] = [
                    {
                        "month": m,
                        "meeting": r["Meeting"],
                        "order": int(r["Order"]),
                        "pstart": float(r["Pstart"]),
                        "pavg": float(r["Pavg"]),
                        "pend": float(r["Pend"]),
                    }
                    for m, r in summ.iterrows()
                ]
                res["meetings"] = [
                    {
                        "meeting": r["Meeting"],
                        "h0": int(r["H0"]),
                        "h1": int(r["H1"]),
                        "p0": float(r["P0"]),
                        "p1": float(r["P1"]),
                    }
                    for _, r in bins.iterrows()
                ]
                break
            else:
                res["error"] = err
            f_out.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
