import pytest

from stsdebug.errors import ConfigError, UsageError
from stsdebug.settings import parse_window, resolve

CONFIG = """
default_profile = "lab"
[profiles.lab]
kafka = "k-from-profile:9092"
es = "http://es-from-profile:9200"
api_key_env = "LAB_KEY"
window = "1h"
receiver_log = ["logs/receiver.log"]
[profiles.other]
es = "http://other:9200"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def test_flags_beat_environment_beat_profile(config):
    env = {"STSDEBUG_KAFKA": "k-from-env:9092", "STSDEBUG_ES": "http://es-env:9200", "LAB_KEY": "s3cret-key"}
    s = resolve({"config": str(config), "es": "http://es-flag:9200"}, env)
    assert s.es == "http://es-flag:9200"
    assert s.kafka == "k-from-env:9092"
    assert s.window == "1h"
    assert s.api_key == "s3cret-key"
    assert s.profile == "lab"


def test_relative_paths_in_profile_are_relative_to_the_config_file(config):
    s = resolve({"config": str(config)}, {"LAB_KEY": "x"})
    assert s.receiver_log == [str(config.parent / "logs/receiver.log")]


def test_named_profile(config):
    s = resolve({"config": str(config), "profile": "other"}, {})
    assert s.es == "http://other:9200" and s.kafka is None


def test_unknown_profile_suggests_names(config):
    with pytest.raises(ConfigError, match="did you mean other"):
        resolve({"config": str(config), "profile": "othr"}, {})


def test_secret_env_variable_not_set_is_a_config_error(config):
    with pytest.raises(ConfigError, match="LAB_KEY is not set"):
        resolve({"config": str(config)}, {})


def test_secret_from_file_and_never_shown(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("abcdef123456\n")
    s = resolve({"api_key_file": str(secret), "es": "http://x"}, {})
    assert s.api_key == "abcdef123456"
    assert "abcdef123456" not in repr(s.redacted())
    assert s.redacted()["api_key"] == "<redacted>"


def test_config_syntax_error_is_one_line(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[profiles.x\nes=1")
    with pytest.raises(ConfigError) as exc:
        resolve({"config": str(bad)}, {})
    assert "not valid TOML" in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_setting_in_profile(tmp_path):
    c = tmp_path / "c.toml"
    c.write_text('[profiles.p]\nelastic = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting 'elastic'"):
        resolve({"config": str(c), "profile": "p"}, {})


def test_env_lists_split_on_semicolons():
    s = resolve({}, {"STSDEBUG_STREAMS": "host=a,metric=values.x;host=b,metric=values.y"})
    assert s.streams == ["host=a,metric=values.x", "host=b,metric=values.y"]


def test_bad_timeout_from_env():
    with pytest.raises(ConfigError, match="STSDEBUG_TIMEOUT"):
        resolve({}, {"STSDEBUG_TIMEOUT": "soon"})


@pytest.mark.parametrize("spec, seconds", [("15m", 900), ("2h", 7200), ("1d", 86400), ("30", 30), ("45s", 45)])
def test_parse_window(spec, seconds):
    assert parse_window(spec) == seconds


@pytest.mark.parametrize("spec", ["", "15x", "-5m", "0m", "31d", "m15"])
def test_parse_window_rejects(spec):
    with pytest.raises(UsageError):
        parse_window(spec)


def test_direct_secret_in_environment_beats_profile_secret_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-file")
    c = tmp_path / "c.toml"
    c.write_text(f'[profiles.p]\nes = "http://x"\napi_key_file = "{key_file}"\n')
    assert resolve({"config": str(c), "profile": "p"}, {}).api_key == "from-file"
    s = resolve({"config": str(c), "profile": "p"}, {"STSDEBUG_API_KEY": "from-env"})
    assert s.api_key == "from-env"


# --- labels and profiles found elsewhere -------------------------------------------------------


def test_labels_from_env_profile_table_or_list(tmp_path):
    assert resolve({}, {"STSDEBUG_LABELS": "ticket=1234; env = prod"}).labels == {"ticket": "1234", "env": "prod"}
    c = tmp_path / "c.toml"
    c.write_text('[profiles.p]\nlabels = {ticket = "99", attempt = 2}\n[profiles.q]\nlabels = ["a=b"]\n')
    assert resolve({"config": str(c), "profile": "p"}, {}).labels == {"ticket": "99", "attempt": "2"}
    assert resolve({"config": str(c), "profile": "q"}, {}).labels == {"a": "b"}
    # Labels have their own key in the trace; they are not repeated in `target`.
    assert "labels" not in resolve({}, {"STSDEBUG_LABELS": "a=b"}).redacted()


@pytest.mark.parametrize("value", ["no-equals-sign", "=value"])
def test_bad_labels_are_one_line(value):
    with pytest.raises(ConfigError, match="labels item"):
        resolve({}, {"STSDEBUG_LABELS": value})


def test_a_registered_profile_is_found_outside_the_user_config(tmp_path, monkeypatch):
    from stsdebug import settings as settings_mod

    located = tmp_path / "elsewhere.toml"
    located.write_text('[profiles.lab]\nes = "http://located:9200"\n')
    monkeypatch.setitem(settings_mod.PROFILE_LOCATORS, "lab", lambda env: located)
    user = tmp_path / "user"
    env = {"XDG_CONFIG_HOME": str(user), "HOME": str(tmp_path)}
    monkeypatch.setattr(settings_mod, "default_config_path", lambda: user / "config.toml")
    assert resolve({"profile": "lab"}, env).es == "http://located:9200"
    # The user's own profile of that name wins over the located one.
    (user).mkdir()
    (user / "config.toml").write_text('[profiles.lab]\nes = "http://mine:9200"\n')
    assert resolve({"profile": "lab"}, env).es == "http://mine:9200"


def test_a_locator_that_finds_nothing_says_why(monkeypatch, tmp_path):
    from stsdebug import settings as settings_mod

    def nothing_up(env):
        raise ConfigError("profile 'lab' asked for, but nothing is up")

    monkeypatch.setitem(settings_mod.PROFILE_LOCATORS, "lab", nothing_up)
    monkeypatch.setattr(settings_mod, "default_config_path", lambda: tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="nothing is up"):
        resolve({"profile": "lab"}, {})
