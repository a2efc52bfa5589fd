"""The server's deadlines and connection cap come from the environment like every other setting."""

import pytest

from perfectorder.config import Settings


def test_server_deadlines_and_the_connection_cap_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "PERFECTORDER_HEADER_TIMEOUT": "2.5",
            "PERFECTORDER_BODY_TIMEOUT": "7",
            "PERFECTORDER_KEEP_ALIVE_TIMEOUT": "3",
            "PERFECTORDER_MAX_CONNECTIONS": "64",
        }
    )
    assert (settings.header_timeout, settings.body_timeout) == (2.5, 7.0)
    assert (settings.keep_alive_timeout, settings.max_connections) == (3, 64)


def test_without_the_environment_a_slow_client_is_bounded_in_seconds_not_minutes():
    settings = Settings.from_env({})
    assert (settings.header_timeout, settings.body_timeout, settings.keep_alive_timeout) == (10, 30, 5)
    assert settings.max_connections == 1000


@pytest.mark.parametrize(
    ("name", "value"),
    [("SMTP_PORT", "abc"), ("DB_POOL_SIZE", "ten"), ("REQUEST_TIMEOUT", "soon"), ("RATE_LIMIT_BURST", "1.5")],
)
def test_a_setting_that_is_not_a_number_is_named(name, value):
    with pytest.raises(ValueError, match=f"^PERFECTORDER_{name}: "):
        Settings.from_env({f"PERFECTORDER_{name}": value})
