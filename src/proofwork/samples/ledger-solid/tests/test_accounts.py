import pytest

from ledger import Account, AccountType, Chart, DuplicateAccount, Side, UnknownAccount


@pytest.mark.parametrize(
    ("kind", "side"),
    [
        (AccountType.ASSET, Side.DEBIT),
        (AccountType.EXPENSE, Side.DEBIT),
        (AccountType.LIABILITY, Side.CREDIT),
        (AccountType.EQUITY, Side.CREDIT),
        (AccountType.INCOME, Side.CREDIT),
    ],
)
def test_each_type_grows_on_its_normal_side(kind: AccountType, side: Side) -> None:
    assert kind.normal_side is side


@pytest.mark.parametrize("code", ["12", "1234567", "10a0", ""])
def test_account_codes_are_three_to_six_digits(code: str) -> None:
    with pytest.raises(ValueError, match="3 to 6 digits"):
        Account(code, "Cash", AccountType.ASSET)


def test_accounts_need_a_name() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        Account("1000", "  ", AccountType.ASSET)


def test_a_code_cannot_be_used_twice(chart: Chart) -> None:
    with pytest.raises(DuplicateAccount, match="already 'Cash'"):
        chart.add(Account("1000", "Petty cash", AccountType.ASSET))
    assert len(chart) == 6


def test_unknown_codes_say_which_code(chart: Chart) -> None:
    with pytest.raises(UnknownAccount) as raised:
        chart["9999"]
    assert str(raised.value) == "no account '9999' in the chart"


def test_accounts_are_listed_by_code_and_filtered_by_type(chart: Chart) -> None:
    assert [a.code for a in chart] == ["1000", "1200", "2000", "3000", "4000", "6000"]
    assert [a.name for a in chart.of_type(AccountType.ASSET)] == ["Cash", "Receivables"]
    assert "4000" in chart
    assert "4001" not in chart
