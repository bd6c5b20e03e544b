import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app, startup_banner
from engine.config import DEV_ADMIN_KEY, Settings
from engine.errors import ConfigurationError

PROD = {
    "env": "prod",
    "write_keys": ["public-write-key-0123"],
    "server_write_keys": ["server-write-key-0123456789abcdef"],
    "admin_key": "a" * 32,
    "inapp_secret": "i" * 32,
    "link_secret": "l" * 32,
    "metrics_token": "m" * 32,
    "public_url": "https://onboarding.example.com",
}


def test_write_keys_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_WRITE_KEYS", " a, b ,,c ")
    assert Settings().write_keys == ["a", "b", "c"]


def test_defaults_are_a_local_sqlite_file() -> None:
    assert Settings().database_url == "sqlite:///./var/parcours.db"


@pytest.mark.parametrize(
    ("keys", "admin", "problem"),
    [
        ([], "a-long-enough-admin-key", "PARCOURS_WRITE_KEYS is empty"),
        (["dev-write-key"], "a-long-enough-admin-key", "development default"),
        (["k"], DEV_ADMIN_KEY, "PARCOURS_ADMIN_KEY"),
        (["k"], "short", "PARCOURS_ADMIN_KEY"),
    ],
)
def test_prod_refuses_default_or_missing_secrets(keys: list[str], admin: str, problem: str) -> None:
    settings = Settings(env="prod", write_keys=keys, admin_key=admin)
    with pytest.raises(ConfigurationError, match=problem):
        settings.check_secrets()


def test_prod_with_real_secrets_starts() -> None:
    Settings(
        env="prod",
        write_keys=["k1-0123456789abcdef"],
        admin_key="x" * 32,
        inapp_secret="y" * 32,
        link_secret="z" * 32,
        public_url="https://onboarding.example.com",
    ).check_secrets()
    Settings(**PROD).check_secrets()


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("write_keys", ["k"], "PARCOURS_WRITE_KEYS has a value shorter than 16 characters"),
        ("server_write_keys", ["s" * 31], "PARCOURS_SERVER_WRITE_KEYS has a value shorter than 32"),
        ("admin_key", "a" * 31, "PARCOURS_ADMIN_KEY has a value shorter than 32 characters"),
        ("inapp_secret", "dev-inapp-secret", "PARCOURS_INAPP_SECRET is the development default"),
        ("link_secret", "l" * 20, "PARCOURS_LINK_SECRET has a value shorter than 32 characters"),
        ("metrics_token", "m", "PARCOURS_METRICS_TOKEN has a value shorter than 32 characters"),
    ],
)
def test_prod_refuses_short_keys_naming_the_setting(
    setting: str, value: object, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(**{**PROD, setting: value}).check_secrets()
    assert problem in refused.value.message


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        ("admin_key", "inapp_secret", "PARCOURS_ADMIN_KEY and PARCOURS_INAPP_SECRET share"),
        ("admin_key", "link_secret", "PARCOURS_ADMIN_KEY and PARCOURS_LINK_SECRET share"),
        ("inapp_secret", "link_secret", "PARCOURS_INAPP_SECRET and PARCOURS_LINK_SECRET share"),
        ("metrics_token", "admin_key", "PARCOURS_ADMIN_KEY and PARCOURS_METRICS_TOKEN share"),
    ],
)
def test_prod_refuses_two_settings_with_one_secret(first: str, second: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(**{**PROD, second: PROD[first]}).check_secrets()
    assert problem in refused.value.message


def test_prod_refuses_a_write_key_reused_as_a_secret() -> None:
    key = "x" * 32
    settings = Settings(**{**PROD, "write_keys": [key], "link_secret": key})
    with pytest.raises(ConfigurationError, match="PARCOURS_WRITE_KEYS and PARCOURS_LINK_SECRET"):
        settings.check_secrets()


def test_enumerated_settings_ignore_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_ENV", "PROD")
    monkeypatch.setenv("PARCOURS_EMAIL_TRANSPORT", " SMTP ")
    monkeypatch.setenv("PARCOURS_SMTP_URL", "smtp://mailer:pw@mail.example:587")
    settings = Settings()
    assert (settings.env, settings.email_transport) == ("prod", "smtp")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PARCOURS_ENV", "staging"),
        ("PARCOURS_TICK_SECONDS", "soon"),
        ("PARCOURS_DATABASE_URL", "not a url"),
        ("PARCOURS_EMAIL_TRANSPORT", "pigeon"),
        ("PARCOURS_QUIET_HOURS", "after dinner"),
        ("PARCOURS_DEFAULT_TIMEZONE", "Mars/Olympus"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["worker"],
        ["demo", "--users", "1", "--days", "1"],
        ["validate", "."],
        ["db", "upgrade"],
        ["experiments", "report", "x"],
    ],
)
def test_an_invalid_setting_is_one_message_naming_it_from_every_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, command: list[str]
) -> None:
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"invalid settings: {variable}: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "never.db").exists()


def test_serve_banner_never_shows_the_database_password_and_secrets_only_in_dev() -> None:
    url = "postgresql://parcours:s3cret-pw@db.internal/parcours"
    prod = startup_banner(Settings(**{**PROD, "database_url": url}), "127.0.0.1", 8000)
    assert "s3cret-pw" not in prod
    assert "postgresql://parcours:***@db.internal/parcours" in prod
    for secret in ("admin_key", "write_keys", "server_write_keys", "metrics_token"):
        values = PROD[secret]
        for value in values if isinstance(values, list) else [values]:
            assert str(value) not in prod
    dev = startup_banner(Settings(env="dev", database_url=url), "127.0.0.1", 8000)
    assert "s3cret-pw" not in dev
    assert "Bearer dev-admin-key" in dev
    assert "-u 'dev-write-key:'" in dev


def test_cli_serve_refuses_prod_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_ENV", "prod")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "refusing to start in prod" in result.output


@pytest.mark.parametrize(
    ("transport", "variable"),
    [("smtp", "PARCOURS_SMTP_URL"), ("HTTP", "PARCOURS_EMAIL_HTTP_URL")],
)
def test_an_email_transport_without_its_url_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, transport: str, variable: str
) -> None:
    monkeypatch.setenv("PARCOURS_EMAIL_TRANSPORT", transport)
    result = CliRunner().invoke(app, ["validate", "."])
    assert result.exit_code == 2
    assert result.output.startswith(f"invalid settings: {variable} must ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["db", "upgrade"], ["worker"], ["serve"]])
def test_an_unreachable_database_is_one_message_without_its_password(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://parcours:s3cret-pw@127.0.0.1:{port}/parcours"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", url)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert result.output.startswith("cannot use the database of PARCOURS_DATABASE_URL: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "s3cret-pw" not in result.output
