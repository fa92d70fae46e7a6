"""Settings validated on load: wrong types and unknown keys fail naming the key, the value, the type and the source."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from indexer.config import Settings, load_settings
from indexer.errors import SettingsError


def _write(home: Path, data: object) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "settings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "key, value, found, expected",
    [
        ("chunk_tokens", "lots", "'lots' (a string)", "an integer (int)"),
        ("chunk_tokens", True, "True (a boolean)", "an integer (int)"),
        ("chunk_tokens", 12.5, "12.5 (a number)", "an integer (int)"),
        ("chunk_tokens", None, "None (null)", "an integer (int)"),
        ("model", True, "True (a boolean)", "a string (str)"),
        ("store_url", 5432, "5432 (an integer)", "a string (str)"),
        ("ocr_languages", ["eng", "rus"], "['eng', 'rus'] (a list)", "a string (str)"),
        ("threads", {"n": 2}, "{'n': 2} (an object)", "an integer (int)"),
    ],
)
def test_a_wrong_type_in_settings_json_names_file_key_value_and_type(
    tmp_path: Path, key: str, value: object, found: str, expected: str
) -> None:
    path = _write(tmp_path, {key: value})
    with pytest.raises(SettingsError) as caught:
        load_settings(str(tmp_path), environ={})
    message = str(caught.value)
    assert message == f"{path}: {key!r} is {found}; expected {expected}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "variable, raw, expected",
    [
        ("BABELSEARCH_CHUNK_TOKENS", "lots", "setting 'chunk_tokens' expects an integer (int)"),
        ("BABELSEARCH_BATCH_SIZE", "3.5", "setting 'batch_size' expects an integer (int)"),
        ("BABELSEARCH_THREADS", "", "setting 'threads' expects an integer (int)"),
    ],
)
def test_a_variable_that_does_not_parse_names_variable_value_and_type(
    tmp_path: Path, variable: str, raw: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(str(tmp_path), environ={variable: raw})
    assert str(caught.value) == f"{variable}={raw!r}: {expected}"


@pytest.mark.parametrize(
    "data, parsed",
    [
        ({"chunk_tokens": 128, "model": "some/model"}, {"chunk_tokens": 128, "model": "some/model"}),
        ({"store_url": "", "threads": 0}, {"store_url": "", "threads": 0}),
        ({}, {"chunk_tokens": 256}),
    ],
)
def test_values_of_the_right_type_load(tmp_path: Path, data: dict, parsed: dict) -> None:
    _write(tmp_path, data)
    settings = load_settings(str(tmp_path), environ={"BABELSEARCH_BATCH_SIZE": "16"})
    assert {k: getattr(settings, k) for k in parsed} == parsed
    assert settings.batch_size == 16


@pytest.mark.parametrize(
    "key, suggestion",
    [("chunk_token", "did you mean 'chunk_tokens'? "), ("ann_backnd", "did you mean 'ann_backend'? "), ("colour", "")],
)
def test_an_unknown_key_in_settings_json_is_an_error_naming_the_valid_keys(
    tmp_path: Path, key: str, suggestion: str
) -> None:
    path = _write(tmp_path, {key: 1})
    with pytest.raises(SettingsError) as caught:
        load_settings(str(tmp_path), environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}: {key!r} is not a setting; {suggestion}valid keys: ")
    assert "chunk_tokens" in message and "store_url" in message


@pytest.mark.parametrize("data, found", [([1, 2], "list"), ("chunk_tokens", "str")])
def test_settings_json_must_be_an_object(tmp_path: Path, data: object, found: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(SettingsError, match=f"{path}: expected a JSON object of settings, found {found}"):
        load_settings(str(tmp_path), environ={})


def test_a_misspelt_variable_is_warned_about_and_other_prefixed_variables_are_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"BABELSEARCH_CHUNK_TOKEN": "64", "BABELSEARCH_TEST_PG_URL": "postgresql://x", "BABELSEARCH_HOME": "x"}
    with caplog.at_level(logging.WARNING, logger="indexer.config_check"):
        settings = load_settings(str(tmp_path), environ=env)
    assert settings.chunk_tokens == 256
    assert [r.getMessage() for r in caplog.records] == [
        "BABELSEARCH_CHUNK_TOKEN is not a setting and is ignored; did you mean BABELSEARCH_CHUNK_TOKENS?"
    ]


def test_an_override_of_the_wrong_type_or_name_fails_by_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^load_settings argument: 'chunk_tokens' is '64' \(a string\)"):
        load_settings(str(tmp_path), environ={}, chunk_tokens="64")
    with pytest.raises(SettingsError, match=r"'chunk_tokenz' is not a setting; did you mean 'chunk_tokens'"):
        load_settings(str(tmp_path), environ={}, chunk_tokenz=64)


@pytest.mark.parametrize("value", [-1, 20])
def test_worker_nice_outside_the_unix_range_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match=rf"worker_nice={value}: use a nice value from 0"):
        Settings(worker_nice=value)
