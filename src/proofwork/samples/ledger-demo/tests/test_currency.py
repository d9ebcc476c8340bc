import ledger


def test_convert_to_usd():
    assert ledger.convert(100, "USD") == 108.0
