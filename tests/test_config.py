import pytest

from engine.config import DEV_ADMIN_KEY, Settings
from engine.errors import ConfigurationError


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
        write_keys=["k1"],
        admin_key="x" * 32,
        inapp_secret="y" * 32,
        link_secret="z" * 32,
        public_url="https://onboarding.example.com",
    ).check_secrets()


def test_cli_serve_refuses_prod_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    monkeypatch.setenv("PARCOURS_ENV", "prod")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "refusing to start in prod" in result.output
