"""Nightly sales ledger for Fernbrook. Written for the May sample files; it did the job then.

    python -m ledger --input IN --output OUT --work WORK --date 2026-05-31
"""

import argparse
import json
import os
import sys
from datetime import datetime

DELIMITERS = {"web": ",", "market": ";", "popup": ","}
COMMISSION = 0.12


def load_rates(folder):
    rates = {}
    for name in os.listdir(folder):
        day = name[:10]
        rates[day] = {"EUR": 1.0}
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for line in f.read().splitlines()[1:]:
                currency, rate = line.split(",")
                rates[day][currency] = float(rate)
    return rates


def read_file(path, channel):
    # read everything, then work on it
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    rows = []
    for line in text.splitlines()[1:]:
        if line.strip():
            rows.append([v.strip() for v in line.split(DELIMITERS[channel])])
    return rows


def day_of(sold_at):
    if "." in sold_at[:3]:
        return datetime.strptime(sold_at[:10], "%d.%m.%Y").strftime("%Y-%m-%d")
    return sold_at[:10]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input")
    parser.add_argument("--output")
    parser.add_argument("--work")
    parser.add_argument("--date")
    args = parser.parse_args()
    until = datetime.strptime(args.date, "%Y-%m-%d").strftime("%Y-%m-%d")

    rates = load_rates(os.path.join(args.input, "rates"))
    all_rows = []
    for name in sorted(os.listdir(args.input)):
        if not name.endswith(".csv"):
            continue
        channel, day = name[:-15], name[-14:-4]
        if day > until:
            continue
        print("reading", name)
        for row in read_file(os.path.join(args.input, name), channel):
            all_rows.append((name, channel, row))

    revenue = {}
    payouts = {}
    quarantine = []
    for name, channel, row in all_rows:
        try:
            id, type, ref, sold_at, amount, currency, region = row[:7]
            amount = float(amount.replace(",", "."))
            day = day_of(sold_at)
            if currency not in rates[day]:
                quarantine.append((name, id, "unknown_currency"))
                continue
            eur = round(amount * rates[day][currency], 2)
            if type == "refund":
                eur = -eur
            key = (day, channel, region)
            revenue[key] = revenue.get(key, 0) + eur
            if channel == "market":
                seller = row[7]
                gross, commission = payouts.get((day, seller), (0, 0))
                payouts[(day, seller)] = (gross + eur, commission + round(eur * COMMISSION, 2))
        except Exception:
            continue

    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "revenue.csv"), "a") as f:
        if f.tell() == 0:
            f.write("day,channel,region,revenue_eur\n")
        for (day, channel, region), total in sorted(revenue.items()):
            f.write(f"{day},{channel},{region},{total:.2f}\n")
    with open(os.path.join(args.output, "payouts.csv"), "a") as f:
        if f.tell() == 0:
            f.write("day,seller,gross_eur,commission_eur,net_eur\n")
        for (day, seller), (gross, commission) in sorted(payouts.items()):
            f.write(f"{day},{seller},{gross:.2f},{commission:.2f},{gross - commission:.2f}\n")
    with open(os.path.join(args.output, "quarantine.csv"), "a") as f:
        if f.tell() == 0:
            f.write("file,row,reason\n")
        for name, id, reason in quarantine:
            f.write(f"{name},{id},{reason}\n")
    with open(os.path.join(args.output, "summary.json"), "w") as f:
        json.dump({"date": until, "rows": len(all_rows)}, f)
    print("done", len(all_rows), "rows")


if __name__ == "__main__":
    sys.exit(main())
