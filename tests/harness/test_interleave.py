"""Measuring the submission and the reference in turns: who goes first, the ratio, and how a
connection from the sandbox to the reference's port is seen."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from proofwork.harness.interleave import best_concurrency, connections_to, ratio, rounds


def turns(ours: list[float], theirs: list[float]) -> list[dict[str, object]]:
    slices: list[dict[str, object]] = []
    for o, t in zip(ours, theirs, strict=True):
        slices += [
            {"service": "reference", "throughput_rps": t},
            {"service": "submission", "throughput_rps": o},
        ]
    return slices


def test_the_ratio_is_the_median_of_each_rounds_ratio() -> None:
    # One round disturbed (the reference's slice fell into a slow second): it does not count.
    assert ratio(turns([50, 52, 48, 50, 51], [100, 100, 100, 20, 102])) == 0.5
    assert ratio(turns([10], [0])) is None and ratio([]) is None


def test_the_reference_goes_first_every_other_round() -> None:
    assert list(rounds(4)) == [True, False, True, False]


def test_the_best_concurrency_is_where_throughput_peaks() -> None:
    steps = [
        {"concurrency": 1, "throughput_rps": 90.0},
        {"concurrency": 8, "throughput_rps": 700.0},
        {"concurrency": 16, "throughput_rps": 650.0},
    ]
    assert best_concurrency(steps) == 8
    assert best_concurrency([]) == 1


def test_a_connection_to_the_port_is_counted_by_the_uid_that_made_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert connections_to(port, os.getuid()) == 0  # listening is not connecting
        with socket.create_connection(("127.0.0.1", port)):
            assert connections_to(port, os.getuid()) == 1
            assert connections_to(port, os.getuid() + 1) == 0


def test_the_tables_are_read_by_remote_port_and_a_missing_one_is_skipped(tmp_path: Path) -> None:
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "   0: 0100007F:A1B2 0100007F:1F41 01 00000000:00000000 00:00000000 00000000 61000\n"
    )
    assert connections_to(8001, 61000, (str(table), str(tmp_path / "missing"))) == 1
    assert connections_to(8000, 61000, (str(table),)) == 0
