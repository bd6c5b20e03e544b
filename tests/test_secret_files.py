"""Secrets from files: PARCOURS_<NAME>_FILE for every secret setting."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import FILE_SETTINGS, Settings
from engine.errors import ConfigurationError

SECRET = "a-secret-read-from-a-file-0123456789"


@pytest.mark.parametrize("name", [n for n in FILE_SETTINGS if n != "database_url"])
def test_each_secret_setting_reads_its_file_without_the_trailing_newline(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "smtp://u:p@mail.example:587" if name == "smtp_url" else SECRET
    path = tmp_path / name
    path.write_text(value + "\n")
    monkeypatch.setenv(f"PARCOURS_{name.upper()}_FILE", str(path))

    read = getattr(Settings(), name)

    assert read == ([value] if isinstance(read, list) else value)


def test_the_database_url_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "url").write_text("postgresql+psycopg://app:pw@db.internal/parcours\r\n")
    monkeypatch.setenv("PARCOURS_DATABASE_URL_FILE", str(tmp_path / "url"))

    assert Settings().database_url == "postgresql+psycopg://app:pw@db.internal/parcours"


def test_a_list_setting_from_a_file_is_comma_separated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").write_text("key-one-0123456789, key-two-0123456789\n")
    monkeypatch.setenv("PARCOURS_WRITE_KEYS_FILE", str(tmp_path / "keys"))

    assert Settings().write_keys == ["key-one-0123456789", "key-two-0123456789"]


def test_a_setting_given_both_ways_is_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "admin").write_text(SECRET)
    monkeypatch.setenv("PARCOURS_ADMIN_KEY_FILE", str(tmp_path / "admin"))
    monkeypatch.setenv("PARCOURS_ADMIN_KEY", "another-secret")

    with pytest.raises(ConfigurationError) as refused:
        Settings()

    assert "PARCOURS_ADMIN_KEY and PARCOURS_ADMIN_KEY_FILE are both set" in refused.value.message
    assert SECRET not in refused.value.message
    assert "another-secret" not in refused.value.message


def test_an_unreadable_file_is_one_message_from_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_LINK_SECRET_FILE", str(tmp_path / "missing"))

    result = CliRunner().invoke(app, ["db", "current"])

    assert result.exit_code == 2
    assert "PARCOURS_LINK_SECRET_FILE: cannot read" in result.output
    assert "Traceback" not in result.output
