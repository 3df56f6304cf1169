#!/usr/bin/env python3
"""Independent reference implementation of the service-due backtest baselines.

Implements the baselines (no model) of the protocol in ../shared/BACKTEST.md, written from
the protocol text alone (not from autodrive/src/backtest.rs), so the two can be cross-checked.
Plain Python 3.11, standard library only.

Usage:
    python3 scripts/backtest_reference.py --data DIR [--schedule KM/MONTHS] [--sweep] [--oracle]

Reads every ``*.csv`` in DIR not ending in ``.raw.csv`` (``vehicle_id,date,odometer_km,
first_registration``; first_registration may be empty) and prints one JSON object:

    {"vehicles": N, "schedule": "15000/12",
     "warm": {"last_two": {"cases", "mae_days", "within_14d"}, "all_history_avg": ...,
              "calendar_12m": ...},
     "cold": {"last_two", "all_history_avg", "calendar_12m", "lifetime_avg"},
     "self_report": {"last_two": ...}}

or with ``--sweep`` ``{"vehicles": N, "sweep": {"5000/6": {warm, cold, self_report}, ...},
"pooled": {warm, cold, self_report}}`` where pooled metrics are over all the sweep's cases.

Ambiguities resolved (and how):

* Rounding "to the nearest day" (interpolated distance date, and ``round(KM / rate)``): all
  arithmetic is exact (fractions.Fraction), ties (.5) are rounded half up (= away from zero,
  as every quantity is positive), like Rust's ``f64::round``, not Python's banker's rounding.
  Ties do occur (``--debug`` counts them). (a) One truth date is an exact tie:
  nissan-altima-2013 at 10000/12, visit 2017-12-14, target crossed 10.5 days after
  2018-10-28. Half up gives the published pooled warm last_two 32.2 (32.150); half-even or
  half-down would give 32.146 -> 32.1, so the published figures confirm half up. (b) The cold
  prior at 10000 km is exactly 10000 * 365.25 / 15000 = 243.5 days -> 244 here; a float
  computation KM / (15000 / 365.25) gives 243.49999999999997 -> 243. On this data the cold
  metrics come out identical either way (3 truths fall on each side), but per-case
  predictions differ by one day.
* Distance date: the bracketing readings are the last reading with odometer < o_k + KM and
  the first with odometer >= o_k + KM (both at or after visit k, as the series is
  non-decreasing). If a reading equals the target exactly, that reading's date is the date.
  The interpolated date may round to d_k itself (target crossed just after d_k); it is kept
  as the truth, and visit k+1 is then the first reading strictly after d_k (rule 5).
* Stop rule 3: the case exists when the distance date is observable (some reading reaches
  o_k + KM) or when d_k + MONTHS <= last reading date. If only the time date is observable
  the truth is the time date (any distance date would lie after the last reading, hence
  after the time date); if only the distance date is observable it necessarily precedes the
  time date. So truth = min of the observable ones.
* Months: d + n calendar months keeps the day of month, clamped to the target month's last
  day (2020-01-31 + 1 month = 2020-02-29).
* Rates <= 0 (zero is possible when the odometer did not move between two visits; negative
  cannot happen on a clean, non-decreasing series but is handled the same way): the
  distance is never reached, so the rate baseline predicts the time date d_k + MONTHS. A
  zero time span cannot occur between distinct visits (one reading per day, visits
  strictly increasing in date). For all_history_avg on a warm case d_k > d_0 always.
* Cold last_two / all_history_avg use the prior rate 15,000 km / 365.25 days whatever the
  schedule, so they predict min(d_k + MONTHS, d_k + round(KM * 365.25 / 15000)).
* lifetime_avg: only on cold cases with known first_registration and
  d_0 - first_registration >= 30 days; rate o_0 / (d_0 - first_registration) km/day. Its
  case count can therefore be lower than the other cold baselines'.
* Self-report (last_two only): p = last_two's warm prediction; the reported reading is the
  last truth reading with d_k < date <= p - 45 days; the new rate is
  (o_r - o_k) / (d_r - d_k) and the prediction is min(d_k + MONTHS, d_k + round(KM / rate))
  (extrapolating from visit k along that rate; d_r + (o_k + KM - o_r)/rate is the same
  instant). Warm cases without such a reading are left out.
* within_14d counts |error| <= 14 days (inclusive). mae_days / within_14d are rounded to 3
  decimals with Python round() on the float; with 0 cases both are null.
* "vehicles" is the number of truth files read. The schedule label is put at the top level
  (as in the brief) rather than inside each kind object.

``--oracle`` adds bounds that are not forecasters (they know each car's future):

* warm ``oracle_whole_log_avg``: the rate is the car's average pace over its whole log.
* self_report ``oracle_whole_log_avg``: the same pace; the oracle is asked on its own predicted
  day (the report is the last truth reading with d_k < date <= p - 45 days, as for last_two)
  and re-predicts from the reported reading at that pace:
  min(d_k + MONTHS, d_r + round((o_k + KM - o_r) / pace)).
* self_report ``oracle_pace_after_report``: the rate is the car's average pace from the reading
  it is told to the end of its log (from visit k to the end for the prediction that sets the
  day it asks): the future of the very stretch being forecast, and the years after it.

For both self-report oracles a reported reading at or past o_k + KM puts the due between visit
k and the report, as last_two does: min(d_k + MONTHS, d_k + round(KM / rate to the report)). A
report on the log's last day leaves no pace after it: the whole log's is used.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import math
import os
import sys
from fractions import Fraction

PRIOR_RATE = Fraction(15000) / Fraction("365.25")  # km/day, independent of the schedule
SWEEP = ["5000/6", "7500/12", "10000/12", "15000/12"]
SELF_REPORT_LEAD_DAYS = 45
TIES = {"count": 0}


def round_half_up(x: Fraction) -> int:
    """Nearest integer, ties upward (positive inputs: = away from zero)."""
    fl = math.floor(x)
    if x - fl == Fraction(1, 2):
        TIES["count"] += 1
    return math.floor(x + Fraction(1, 2))


def add_months(d: dt.date, months: int) -> dt.date:
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def load(data_dir: str):
    vehicles = []
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".csv") or name.endswith(".raw.csv"):
            continue
        readings, first_reg = [], None
        with open(os.path.join(data_dir, name), newline="") as f:
            for row in csv.DictReader(f):
                readings.append((dt.date.fromisoformat(row["date"]), Fraction(row["odometer_km"])))
                fr = (row.get("first_registration") or "").strip()
                if fr and first_reg is None:
                    first_reg = dt.date.fromisoformat(fr)
        readings.sort(key=lambda r: r[0])
        vehicles.append({"name": name, "readings": readings, "first_registration": first_reg})
    return vehicles


def distance_date(readings, k: int, target: Fraction):
    """Date the odometer reaches target (interpolated, rounded), or None if never observed."""
    for j in range(k + 1, len(readings)):
        dj, oj = readings[j]
        if oj >= target:
            di, oi = readings[j - 1]
            if oj == target:
                return dj
            frac = (target - oi) / (oj - oi)
            return di + dt.timedelta(days=round_half_up(frac * (dj - di).days))
    return None


def make_cases(vehicle, km: int, months: int):
    """Yield (visit_indices, truth_date) for one vehicle under the schedule."""
    readings = vehicle["readings"]
    if not readings:
        return
    last_date = readings[-1][0]
    k = 0
    visits = [0]
    while True:
        dk, ok = readings[k]
        time_date = add_months(dk, months)
        dist = distance_date(readings, k, ok + km)
        candidates = []
        if dist is not None:
            candidates.append(dist)
        if time_date <= last_date:
            candidates.append(time_date)
        if not candidates:
            return  # rule 3
        truth = min(candidates)
        yield list(visits), truth
        nxt = next((j for j in range(k + 1, len(readings)) if readings[j][0] >= truth), None)
        if nxt is None:
            return  # rule 5
        k = nxt
        visits.append(k)


def reported(readings, dk: dt.date, predicted: dt.date):
    """The reading a customer reports when asked 45 days before `predicted`, or None."""
    cutoff = predicted - dt.timedelta(days=SELF_REPORT_LEAD_DAYS)
    rep = None
    for d, o in readings:
        if dk < d <= cutoff:
            rep = (d, o)
    return rep


def from_report(dk: dt.date, ok: Fraction, rep, rate: Fraction, km: int, months: int) -> dt.date:
    """An oracle's re-prediction from a reported reading, driving on at `rate` after it."""
    dr, o_r = rep
    if o_r >= ok + km:
        return rate_prediction(dk, (o_r - ok) / (dr - dk).days, km, months)
    if rate <= 0:
        return add_months(dk, months)
    due = dr + dt.timedelta(days=round_half_up((ok + km - o_r) / rate))
    return min(add_months(dk, months), due)


def rate_prediction(dk: dt.date, rate: Fraction, km: int, months: int) -> dt.date:
    time_date = add_months(dk, months)
    if rate <= 0:
        # Zero / negative rate: the distance is never reached, predict the time date.
        return time_date
    dist = dk + dt.timedelta(days=round_half_up(Fraction(km) / rate))
    return min(time_date, dist)


def evaluate(vehicles, schedule: str, oracle: bool = False):
    """Return {kind: {predictor: [abs errors in days]}} for one schedule."""
    km_s, mo_s = schedule.split("/")
    km, months = int(km_s), int(mo_s)
    errs = {
        "warm": {"last_two": [], "all_history_avg": [], "calendar_12m": []},
        "cold": {"last_two": [], "all_history_avg": [], "calendar_12m": [], "lifetime_avg": []},
        "self_report": {"last_two": []},
    }
    for v in vehicles:
        rd = v["readings"]
        for visits, truth in make_cases(v, km, months):
            d0, o0 = rd[visits[0]]
            dk, ok = rd[visits[-1]]
            err = lambda p: abs((p - truth).days)
            cal = add_months(dk, months)
            if len(visits) >= 2:
                e = errs["warm"]
                dp, op = rd[visits[-2]]
                r2 = (ok - op) / (dk - dp).days
                p2 = rate_prediction(dk, r2, km, months)
                e["last_two"].append(err(p2))
                rall = (ok - o0) / (dk - d0).days
                e["all_history_avg"].append(err(rate_prediction(dk, rall, km, months)))
                e["calendar_12m"].append(err(cal))
                if oracle:
                    # Not forecasters: they know each car's future (see the module's doc).
                    (df, of), (dl, ol) = rd[0], rd[-1]
                    vr = Fraction(ol - of, (dl - df).days)
                    po = rate_prediction(dk, vr, km, months)
                    e.setdefault("oracle_whole_log_avg", []).append(err(po))
                    sr = errs["self_report"]
                    rep = reported(rd, dk, po)
                    if rep is not None:
                        sr.setdefault("oracle_whole_log_avg", []).append(
                            err(from_report(dk, ok, rep, vr, km, months))
                        )

                    def pace_after(d, o):
                        return Fraction(ol - o, (dl - d).days) if dl > d else vr

                    po = rate_prediction(dk, pace_after(dk, ok), km, months)
                    rep = reported(rd, dk, po)
                    if rep is not None:
                        sr.setdefault("oracle_pace_after_report", []).append(
                            err(from_report(dk, ok, rep, pace_after(*rep), km, months))
                        )
                # self-report variant for last_two
                cutoff = p2 - dt.timedelta(days=SELF_REPORT_LEAD_DAYS)
                rep = None
                for d, o in rd:
                    if dk < d <= cutoff:
                        rep = (d, o)
                if rep is not None:
                    rr = (rep[1] - ok) / (rep[0] - dk).days
                    errs["self_report"]["last_two"].append(err(rate_prediction(dk, rr, km, months)))
            else:
                e = errs["cold"]
                pp = rate_prediction(dk, PRIOR_RATE, km, months)
                e["last_two"].append(err(pp))
                e["all_history_avg"].append(err(pp))
                e["calendar_12m"].append(err(cal))
                fr = v["first_registration"]
                if fr is not None and (d0 - fr).days >= 30:
                    rl = o0 / (d0 - fr).days
                    e["lifetime_avg"].append(err(rate_prediction(dk, rl, km, months)))
    return errs


def metrics(errors):
    n = len(errors)
    if n == 0:
        return {"cases": 0, "mae_days": None, "within_14d": None}
    return {
        "cases": n,
        "mae_days": round(sum(errors) / n, 3),
        "within_14d": round(sum(1 for x in errors if x <= 14) / n, 3),
    }


def summarize(errs):
    return {kind: {p: metrics(v) for p, v in preds.items()} for kind, preds in errs.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--schedule", default="15000/12")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--debug", action="store_true", help="report rounding ties on stderr")
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="add bounds that know each car's future (not forecasters): warm and self_report "
        "oracle_whole_log_avg (each car's pace over its whole log), self_report "
        "oracle_pace_after_report (its pace from the reported reading to the end of its log)",
    )
    a = ap.parse_args(argv)
    vehicles = load(a.data)
    if a.sweep:
        out = {"vehicles": len(vehicles), "sweep": {}}
        pooled = None
        for s in SWEEP:
            errs = evaluate(vehicles, s, a.oracle)
            out["sweep"][s] = summarize(errs)
            if pooled is None:
                pooled = {k: {p: list(v) for p, v in preds.items()} for k, preds in errs.items()}
            else:
                for k, preds in errs.items():
                    for p, v in preds.items():
                        pooled[k][p].extend(v)
        out["pooled"] = summarize(pooled)
    else:
        out = {"vehicles": len(vehicles), "schedule": a.schedule}
        out.update(summarize(evaluate(vehicles, a.schedule, a.oracle)))
    print(json.dumps(out))
    if a.debug:
        print(f"rounding ties (.5) encountered: {TIES['count']}", file=sys.stderr)


if __name__ == "__main__":
    main()
