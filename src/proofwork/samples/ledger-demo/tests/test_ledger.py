import ledger


def setup_function():
    ledger.reset()
    ledger.create_account("sales", "income")
    ledger.create_account("rent", "expense")


def test_create_account():
    ledger.create_account("wages", "expense")
    assert "wages" in ledger.accounts


def test_add_sale():
    ok = ledger.add_sale("2024-01-05", "sales", "120")
    assert ok


def test_add_expense():
    ledger.add_expense("2024-01-06", "rent", 800)
    assert ledger.get_balance("rent") != None


def test_refund():
    ledger.add_sale("2024-01-05", "sales", 100)
    ledger.add_refund("2024-01-07", "sales", 30)
    assert ledger.total("refund") > 0


def test_monthly_report():
    ledger.add_sale("2024-01-05", "sales", 100)
    ledger.add_expense("2024-01-06", "rent", 50)
    r = ledger.monthly_report(1, 2024)
    assert r is not None


def test_vat():
    assert ledger.vat(100, "DE") > 0
    assert ledger.vat(100, "FR") > 0


def test_balance_after_two_sales():
    ledger.add_sale("2024-01-05", "sales", 0.1)
    ledger.add_sale("2024-01-06", "sales", 0.2)
    assert ledger.get_balance("sales") == 0.3
