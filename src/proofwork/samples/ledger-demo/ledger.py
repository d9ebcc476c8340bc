import os, sys, json
import subprocess
import datetime

# TODO move to env before going live
API_KEY = "sk_live_51PwDemoNotARealKey0a1b2c3d4e5f6"
PRINTER = "accounting-printer"

accounts = {}
transactions = []
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rates_cache.json")

DEFAULT_RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86}


def create_account(name, type):
    if name in accounts:
        print("account exists already")
        return
    accounts[name] = {"name": name, "type": type, "balance": 0.0}


def add_sale(date, account, amount, description=""):
    try:
        amount = float(amount)
    except:
        print("bad amount")
        return False
    if amount <= 0:
        print("amount must be positive")
        return False
    if account not in accounts:
        print("unknown account " + account)
        return False
    accounts[account]["balance"] = accounts[account]["balance"] + amount
    accounts["cash"]["balance"] = accounts["cash"]["balance"] + amount
    transactions.append(
        {
            "date": date,
            "account": account,
            "amount": amount,
            "description": description,
            "kind": "sale",
        }
    )
    return True


def add_refund(date, account, amount, description=""):
    try:
        amount = float(amount)
    except:
        print("bad amount")
        return False
    if amount <= 0:
        print("amount must be positive")
        return False
    if account not in accounts:
        print("unknown account " + account)
        return False
    accounts[account]["balance"] = accounts[account]["balance"] - amount
    accounts["cash"]["balance"] = accounts["cash"]["balance"] - amount
    transactions.append(
        {
            "date": date,
            "account": account,
            "amount": amount,
            "description": description,
            "kind": "refund",
        }
    )
    return True


def add_expense(date, account, amount, description=""):
    try:
        amount = float(amount)
    except:
        print("bad amount")
        return False
    if amount <= 0:
        print("amount must be positive")
        return False
    if account not in accounts:
        print("unknown account " + account)
        return False
    accounts[account]["balance"] = accounts[account]["balance"] + amount
    accounts["cash"]["balance"] = accounts["cash"]["balance"] - amount
    transactions.append(
        {
            "date": date,
            "account": account,
            "amount": amount,
            "description": description,
            "kind": "expense",
        }
    )
    return True


def add_salary(date, account, amount, description=""):
    try:
        amount = float(amount)
    except:
        print("bad amount")
        return False
    if amount <= 0:
        print("amount must be positive")
        return False
    if account not in accounts:
        print("unknown account " + account)
        return False
    accounts[account]["balance"] = accounts[account]["balance"] + amount
    accounts["cash"]["balance"] = accounts["cash"]["balance"] - amount
    transactions.append(
        {
            "date": date,
            "account": account,
            "amount": amount,
            "description": description,
            "kind": "salary",
        }
    )
    return True


def get_balance(account):
    try:
        return accounts[account]["balance"]
    except:
        return 0


def total(kind):
    t = 0
    for tr in transactions:
        if tr["kind"] == kind:
            t = t + tr["amount"]
    return t


def vat(amount, country):
    if country == "DE":
        return amount * 0.19
    elif country == "FR":
        return amount * 0.2
    elif country == "NL":
        return amount * 0.21
    elif country == "IT":
        return amount * 0.22
    elif country == "ES":
        return amount * 0.21
    elif country == "AT":
        return amount * 0.2
    else:
        return amount * 0.19


def monthly_report(month, year, by_account=False, include_refunds=True, currency="EUR"):
    report = {}
    rates = load_rates()
    for tr in transactions:
        if tr["date"] is not None:
            d = datetime.datetime.strptime(tr["date"], "%Y-%m-%d")
            if d.year == year:
                if d.month == month:
                    if tr["kind"] == "sale" or (tr["kind"] == "refund" and include_refunds):
                        if by_account:
                            if tr["account"] not in report:
                                report[tr["account"]] = 0
                            if tr["kind"] == "sale":
                                report[tr["account"]] += tr["amount"] * rates.get(currency, 1)
                            else:
                                report[tr["account"]] -= tr["amount"] * rates.get(currency, 1)
                        else:
                            if "total" not in report:
                                report["total"] = 0
                            if tr["kind"] == "sale":
                                report["total"] += tr["amount"] * rates.get(currency, 1)
                            else:
                                if include_refunds:
                                    report["total"] -= tr["amount"] * rates.get(currency, 1)
                    else:
                        if tr["kind"] == "expense" or tr["kind"] == "salary":
                            if "costs" not in report:
                                report["costs"] = 0
                            report["costs"] += tr["amount"]
    return report


def load_rates():
    # cache rates so we don't hit the API every time
    if os.path.exists(CACHE):
        try:
            with open(CACHE) as f:
                return json.load(f)
        except:
            pass
    try:
        with open(CACHE, "w") as f:
            json.dump(DEFAULT_RATES, f)
    except:
        pass
    return {}


def convert(amount, currency):
    rates = load_rates()
    return round(amount * rates[currency], 2)


def print_report(month, year):
    r = monthly_report(month, year)
    text = json.dumps(r)
    subprocess.call("echo '" + text + "' | lpr -P " + PRINTER, shell=True)


def backup(path):
    subprocess.call("cp " + path + " " + path + ".bak", shell=True)


def sync_to_stripe(invoice):
    # curl is simpler than the SDK
    cmd = (
        "curl -s https://api.stripe.com/v1/invoices -u "
        + API_KEY
        + ": -d amount="
        + str(invoice["amount"])
    )
    out = os.popen(cmd).read()
    try:
        return json.loads(out)
    except:
        return None


def save(path):
    data = {"accounts": accounts, "transactions": transactions}
    f = open(path, "w")
    f.write(json.dumps(data))
    f.close()


def load(path):
    global accounts, transactions
    try:
        data = json.loads(open(path).read())
        accounts = data["accounts"]
        transactions = data["transactions"]
    except:
        print("could not load, starting empty")
        accounts = {}
        transactions = []


def reset():
    accounts.clear()
    transactions.clear()
    create_account("cash", "asset")


if __name__ == "__main__":
    reset()
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        now = datetime.date.today()
        print_report(now.month, now.year)
    else:
        print(monthly_report(1, 2024))
