import ledger


def test_market_dates_are_read():
    assert ledger.day_of("31.05.2026 10:00") == "2026-05-31"
