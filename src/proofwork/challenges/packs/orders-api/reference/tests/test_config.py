from pathlib import Path

import pytest

from app.config import ConfigError, Settings

BASE = {"DATA_DIR": "/var/lib/orders", "PAYMENTS_URL": "http://pay.test/"}


def test_defaults_need_only_data_dir_and_payments_url() -> None:
    settings = Settings.from_env(BASE)

    assert settings.data_dir == Path("/var/lib/orders")
    assert settings.database_path == Path("/var/lib/orders/orders.sqlite3")
    assert settings.payments_url == "http://pay.test"
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "INFO")


def test_values_come_from_the_environment() -> None:
    settings = Settings.from_env(
        BASE
        | {"PORT": "9000", "LOG_LEVEL": "debug", "PAYMENT_BUDGET_S": "1.5", "PAYMENT_MAX_ATTEMPTS": " "}
        | {"SQLITE_SYNCHRONOUS": "full"}
    )

    assert (settings.port, settings.log_level, settings.payment_budget_s) == (9000, "DEBUG", 1.5)
    assert settings.payment_max_attempts == 3
    assert settings.sqlite_synchronous == "FULL"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYMENTS_URL": "http://pay.test"}, "DATA_DIR must be set"),
        ({"DATA_DIR": "/d", "PAYMENTS_URL": " "}, "PAYMENTS_URL must be set"),
        (BASE | {"PORT": "eighty"}, "PORT must be a int"),
        (BASE | {"PAYMENT_BUDGET_S": "0"}, "must be positive"),
        (BASE | {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of DEBUG, ERROR, INFO, WARNING"),
        (BASE | {"SQLITE_SYNCHRONOUS": "OFF"}, "SQLITE_SYNCHRONOUS must be one of FULL, NORMAL"),
    ],
)
def test_a_bad_environment_fails_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
