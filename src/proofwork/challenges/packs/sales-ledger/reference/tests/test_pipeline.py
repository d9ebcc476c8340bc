from collections.abc import Callable

from tests.conftest import Run


def test_rows_are_converted_and_rounded_half_up_per_row(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export(
        "web", "2026-06-01", "W1,sale,,2026-06-01T10:00:00Z,2.01,USD,IE", "W2,sale,,2026-06-01T11:00:00Z,0.25,USD,IE"
    )
    assert run().exit_code == 0
    assert run.revenue() == {("2026-06-01", "web", "IE"): "1.14"}


def test_a_late_evening_sale_lands_on_the_dublin_day(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export("web", "2026-06-01", "W1,sale,,2026-06-01T23:15:00Z,10.00,EUR,IE")
    run.export("market", "2026-06-02", "M1;sale;;02.06.2026 00:30;1.000,50;EUR;DE;copper-kettle")
    run()
    assert run.revenue() == {("2026-06-02", "web", "IE"): "10.00", ("2026-06-01", "market", "DE"): "1000.50"}


def test_popup_files_are_cp1252_with_quotes_and_padding(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export("popup", "2026-06-01", ' P1 , sale ,, 2026-06-01 10:00 , 12.50 , EUR , IE ,"Café Éire, Galway"')
    run()
    assert run.revenue() == {("2026-06-01", "popup", "IE"): "12.50"}


def test_embedded_newlines_stay_in_their_field(ledger: Callable[[], Run]) -> None:
    run = ledger()
    header = "id,type,ref,note,sold_at,amount,currency,region"
    run.export("web", "2026-06-01", 'W1,sale,,"back door,\r\nafter 5",2026-06-01T10:00:00Z,3.00,EUR,IE', header=header)
    run()
    assert run.revenue() == {("2026-06-01", "web", "IE"): "3.00"}
    assert run.summary()["totals"] == {"read": 1, "accepted": 1, "quarantined": 0, "duplicates": 0}


def test_duplicates_and_reexports_count_once(ledger: Callable[[], Run]) -> None:
    run = ledger()
    sale = "W1,sale,,2026-06-01T10:00:00Z,10.00,EUR,IE"
    first = run.export("web", "2026-06-01", sale, sale)
    second = run.export("web", "2026-06-02", sale, "W2,sale,,2026-06-02T10:00:00Z,1.00,EUR,IE")
    run()
    assert run.revenue() == {("2026-06-01", "web", "IE"): "10.00", ("2026-06-02", "web", "IE"): "1.00"}
    files = run.summary()["files"]
    assert files[first] == {"read": 2, "accepted": 1, "quarantined": 0, "duplicates": 1}  # type: ignore[index]
    assert files[second] == {"read": 2, "accepted": 1, "quarantined": 0, "duplicates": 1}  # type: ignore[index]


def test_refunds_and_corrections_change_the_sale_day_and_payout(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export("market", "2026-06-01", "M1;sale;;01.06.2026 10:00;100,00;GBP;UK;copper-kettle")
    run.export(
        "market",
        "2026-06-03",
        "M2;refund;M1;03.06.2026 10:00;40,00;GBP;UK;copper-kettle",
        "M3;correction;M1;03.06.2026 11:00;-1,00;GBP;UK;copper-kettle",
    )
    run()
    assert run.revenue() == {("2026-06-01", "market", "UK"): "69.03"}
    assert run.rows("payouts.csv") == [["2026-06-01", "copper-kettle", "69.03", "8.28", "60.75"]]


def test_columns_are_found_by_name(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export(
        "web",
        "2026-06-01",
        "EUR,7.00,FR,W1,2026-06-01T10:00:00Z,sale,",
        header="currency,amount,region,id,sold_at,type,ref",
    )
    run()
    assert run.revenue() == {("2026-06-01", "web", "FR"): "7.00"}


def test_a_file_missing_a_column_is_refused_row_by_row(ledger: Callable[[], Run]) -> None:
    run = ledger()
    name = run.export(
        "web", "2026-06-01", "W1,sale,,2026-06-01T10:00:00Z,7.00,IE", header="id,type,ref,sold_at,amount,region"
    )
    run()
    assert run.rows("quarantine.csv") == [[name, "1", "missing_column"]]
    assert run.revenue() == {}


def test_every_rejected_row_has_its_reason(ledger: Callable[[], Run]) -> None:
    run = ledger()
    name = run.export(
        "web",
        "2026-06-01",
        "W1,sale,,2026-06-01T10:00:00Z,ten,EUR,IE",
        "W2,sale,,yesterday,1.00,EUR,IE",
        "W3,sale,,2026-06-01T10:00:00Z,1.00,XBT,IE",
        "W4,sale,,2026-06-01T10:00:00Z,1.00,EUR,",
        "W5,chargeback,,2026-06-01T10:00:00Z,1.00,EUR,IE",
        "W6,refund,W404,2026-06-01T10:00:00Z,1.00,EUR,IE",
        "W7,sale,,2026-06-09T10:00:00Z,1.00,GBP,IE",
        "W8,sale,,2026-06-01T10:00:00Z",
        "W9,sale,,2026-06-09T10:00:00Z,1.00,EUR,IE",
    )
    run()
    reasons = [reason for _, _, reason in run.rows("quarantine.csv")]
    assert reasons == [
        "bad_amount",
        "bad_timestamp",
        "unknown_currency",
        "missing_value",
        "unknown_type",
        "unknown_original",
        "no_rate",
        "bad_row",
    ]
    assert run.summary()["files"][name] == {"read": 9, "accepted": 1, "quarantined": 8, "duplicates": 0}  # type: ignore[index]


def test_commission_is_rounded_once_per_seller_and_day(ledger: Callable[[], Run]) -> None:
    run = ledger()
    rows = [f"M{i};sale;;01.06.2026 10:00;1,04;EUR;IE;copper-kettle" for i in range(3)]
    run.export("market", "2026-06-01", *rows)
    run()
    assert run.rows("payouts.csv") == [["2026-06-01", "copper-kettle", "3.12", "0.37", "2.75"]]


def test_a_rerun_writes_the_same_bytes(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export("web", "2026-06-01", "W1,sale,,2026-06-01T10:00:00Z,10.00,EUR,IE")
    run.export("market", "2026-06-01", "M1;sale;;01.06.2026 10:00;5,00;EUR;IE;copper-kettle")
    run()
    out = run.root / "out"
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / ".revenue.csv.partial").write_text("left by a killed run")
    run()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_files_after_the_date_have_not_arrived(ledger: Callable[[], Run]) -> None:
    run = ledger()
    run.export("web", "2026-06-03", "W1,sale,,2026-06-03T10:00:00Z,10.00,EUR,IE")
    run(date="2026-06-02")
    assert run.revenue() == {}
    assert run.summary()["files"] == {}


def test_logs_are_json_lines_with_progress(ledger: Callable[[], Run], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("ledger.pipeline.PROGRESS_EVERY", 2)
    run = ledger()
    rows = [f"W{i},sale,,2026-06-01T10:00:00Z,1.00,EUR,IE" for i in range(5)]
    run.export("web", "2026-06-01", *rows)
    (run.input / "notes.txt").write_text("")
    run()
    events = [e["event"] for e in run.events()]
    reading, booking = ["progress", "progress", "file_read"], ["progress", "progress"]  # 5 rows, every 2
    assert events == ["file_ignored", "run_started", *reading, *booking, "run_finished"]
