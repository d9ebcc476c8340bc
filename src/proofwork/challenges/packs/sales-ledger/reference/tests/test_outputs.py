from pathlib import Path

from ledger.outputs import clear_partials, write_csv


def test_fields_with_commas_quotes_or_newlines_are_quoted(tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", ("file", "reason"), [('a,b "c"', "x\ny")])
    assert (tmp_path / "x.csv").read_text() == 'file,reason\n"a,b ""c""","x\ny"\n'


def test_a_write_leaves_no_partial_file_behind(tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", ("a",), [(1,)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_partials_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".revenue.csv.partial").write_text("half")
    (tmp_path / "revenue.csv").write_text("whole")
    clear_partials(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["revenue.csv"]
