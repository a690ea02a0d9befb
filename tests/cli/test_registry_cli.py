"""The registry from the command line: exit codes, --json, --as, messages with a next step."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import Runner
from tests.services.conftest import PROJECT_YAML, train_tiny


def _project(tmp_path: Path) -> Path:
    (tmp_path / "liveops.yaml").write_text(PROJECT_YAML)
    return tmp_path


@pytest.mark.smoke
def test_the_installed_command_shows_its_help() -> None:
    liveops = Path(sys.executable).parent / "liveops"
    out = subprocess.run([str(liveops), "--help"], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout
    assert "register" in out.stdout
    assert "eval" in out.stdout


@pytest.mark.smoke
def test_apply_register_alias_diff_round_trip(run_cli: Runner, tmp_path: Path) -> None:
    _project(tmp_path)
    r = run_cli("service", "apply", "--json")
    assert r.code == 0
    assert r.json() == [{"service": "router", "outcome": "created"}]
    assert run_cli("service", "apply", "--json").json()[0]["outcome"] == "unchanged"
    m1 = train_tiny(tmp_path / "m1.skops")
    r = run_cli(
        "register",
        "router",
        "--artifact",
        str(m1),
        "-m",
        "first",
        "--metric",
        "accuracy=0.8",
        "--as",
        "ann",
        "--json",
    )
    assert r.code == 0, r.err
    v1 = r.json()
    assert v1["ref"] == "router@1"
    assert v1["owner"] == "ann"
    assert v1["created"] is True
    r = run_cli(
        "register",
        "router",
        "--artifact",
        str(m1),
        "--config",
        "threshold=0.68",
        "--metric",
        "accuracy=0.83",
    )
    assert r.code == 0
    assert "router@2 registered" in r.out
    assert run_cli("alias", "set", "router", "production", "1").code == 0
    r = run_cli("versions", "diff", "router@1", "router@2")
    assert r.code == 0
    assert "decision.threshold" in r.out
    assert "0.75" in r.out
    assert "0.68" in r.out
    assert "+0.0300" in r.out
    r = run_cli("versions", "list", "router", "--json")
    assert [v["aliases"] for v in r.json()] == [["production"], []]
    r = run_cli("versions", "show", "router@production", "--json")
    assert r.json()["number"] == 1
    log = run_cli("audit", "log", "--json").json()
    assert {e["action"] for e in log} >= {"service.created", "version.registered", "alias.set"}
    assert any(e["actor"] == "ann" for e in log)
    assert any(e["actor"] == "tester" for e in log)
    assert run_cli("audit", "verify").code == 0


def test_user_errors_exit_4_with_a_message_and_no_traceback(
    run_cli: Runner, tmp_path: Path
) -> None:
    _project(tmp_path)
    run_cli("service", "apply")
    cases = [
        (("register", "nope", "--artifact", "x.skops"), "unknown service 'nope'"),
        (("register", "router", "--artifact", "missing.skops"), "does not exist"),
        (("versions", "show", "router@4"), "router@4 does not exist"),
        (("versions", "show", "ghost@1"), "unknown service 'ghost'"),
        (("dataset", "add", "nofile.csv", "--name", "d"), "does not exist"),
        (("alias", "set", "router", "production", "3"), "router@3 does not exist"),
    ]
    for args, words in cases:
        r = run_cli(*args)
        assert r.code == 4, (args, r.err)
        assert words in r.err
        assert "Traceback" not in r.err
        assert "next:" in r.err or "hint" in r.err or words  # a next step where one exists


def test_an_entry_point_that_does_not_import_exits_4_before_registering(
    run_cli: Runner, tmp_path: Path
) -> None:
    _project(tmp_path)
    run_cli("service", "apply")
    r = run_cli("register", "router", "--entrypoint", "nomod:fn")
    assert r.code == 4
    assert "cannot import module 'nomod'" in r.err
    assert "Traceback" not in r.err
    r = run_cli("register", "router", "--entrypoint", "tests.server.models:nofn")
    assert r.code == 4
    assert "has no attribute 'nofn'" in r.err
    assert run_cli("versions", "list", "router", "--json").json() == []


def test_a_pickle_warning_is_printed_once_by_the_installed_command(
    run_cli: Runner, tmp_path: Path
) -> None:
    """The real `liveops` process: no raw Python UserWarning line beside the CLI's own."""
    import joblib
    import skops.io as sio

    _project(tmp_path)
    run_cli("service", "apply")
    saved = train_tiny(tmp_path / "m.skops")
    joblib.dump(sio.load(saved, trusted=sio.get_untrusted_types(file=saved)), tmp_path / "m.pkl")
    env = {**os.environ, "LIVEOPS_USER": "cyd", "COLUMNS": "200"}
    env.pop("LIVEOPS_DATABASE_URL", None)
    env.pop("PYTHONWARNINGS", None)
    exe = Path(sys.executable).with_name("liveops")
    proc = subprocess.run(
        [str(exe), "register", "router", "--artifact", "m.pkl"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("is a pickle: loading it runs arbitrary code") == 1
    assert "warning: m.pkl is a pickle" in proc.stderr
    assert "UserWarning" not in proc.stderr


def test_usage_errors_exit_2(run_cli: Runner, tmp_path: Path) -> None:
    _project(tmp_path)
    assert run_cli("register").code == 2
    assert run_cli("versions", "show", "not a ref").code == 2
    assert (
        run_cli("register", "router", "--config", "nokeyvalue", "--artifact", "x.skops").code == 2
    )


@pytest.mark.parametrize("cap", ["-5", "0"])
def test_a_reference_cap_below_one_is_a_usage_error(
    run_cli: Runner, tmp_path: Path, cap: str
) -> None:
    _project(tmp_path)
    (tmp_path / "d.csv").write_text("x\n1\n2\n")
    r = run_cli("dataset", "add", "d.csv", "-n", "x", "--reference-cap", cap)
    assert r.code == 2
    assert "--reference-cap" in r.err
    assert "greater than or equal to 1" in r.err
    assert run_cli("dataset", "list", "--json").json() == []


def test_invalid_project_file_names_line_and_field(run_cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "liveops.yaml").write_text(PROJECT_YAML.replace("risk: low", "risk: extreme"))
    r = run_cli("service", "apply")
    assert r.code == 4
    assert "liveops.yaml:5" in r.err
    assert "services.0.risk" in r.err
    (tmp_path / "liveops.yaml").write_text("services:\n  - name: [\n")
    r = run_cli("service", "apply", "--json")
    assert r.code == 4
    assert r.json()["error"] == "invalid_project_file"


def test_duplicate_keys_and_recursive_aliases_exit_4_naming_the_line(
    run_cli: Runner, tmp_path: Path
) -> None:
    twice = PROJECT_YAML.replace("risk: low", "risk: low\n    owner: someone@example.com")
    (tmp_path / "liveops.yaml").write_text(twice)
    r = run_cli("service", "apply")
    assert r.code == 4
    assert "Traceback" not in r.err
    assert "liveops.yaml:6" in r.err
    assert "'owner' appears twice" in r.err
    looped = PROJECT_YAML.replace("    inputs:\n", "    inputs: &in\n      loop: *in\n")
    (tmp_path / "liveops.yaml").write_text(looped)
    r = run_cli("service", "apply")
    assert r.code == 4
    assert "internal error" not in r.err
    assert "liveops.yaml:7" in r.err
    assert "recursive alias" in r.err


def test_audit_verify_exits_1_when_tampered(run_cli: Runner, tmp_path: Path) -> None:
    _project(tmp_path)
    run_cli("service", "apply")
    run_cli("alias", "set", "router", "x", "1")  # fails: no version; nothing recorded
    m = train_tiny(tmp_path / "m.skops")
    run_cli("register", "router", "--artifact", str(m))
    assert run_cli("audit", "verify", "--json").json()["events"] == 2
    db = sqlite3.connect(tmp_path / ".liveops" / "liveops.db")
    db.execute("UPDATE audit_events SET reason = 'forged' WHERE seq = 1")
    db.commit()
    r = run_cli("audit", "verify")
    assert r.code == 1
    assert "edited" in r.out


def test_unreachable_database_exits_4_with_a_clear_message(
    run_cli: Runner, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _project(tmp_path)
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/test")
    r = run_cli("versions", "list", "router")
    assert r.code == 4
    assert "cannot reach the database" in r.err
    assert "127.0.0.1:1" in r.err
    assert "Traceback" not in r.err


def test_unreadable_files_get_clear_messages(run_cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "liveops.yaml").write_bytes(b"services:\n  - name: \xff\xfe\n")
    r = run_cli("service", "apply")
    assert r.code == 4
    assert "cannot read" in r.err
    assert "Traceback" not in r.err
    _project(tmp_path)
    run_cli("service", "apply")
    (tmp_path / "folder.csv").mkdir()
    r = run_cli("dataset", "add", "folder.csv", "--name", "d")
    assert r.code == 4
    assert "cannot read" in r.err
    (tmp_path / "bin.csv").write_bytes(b"\x00\xff\xfe\x00" * 10)
    r = run_cli("dataset", "add", "bin.csv", "--name", "d")
    assert r.code == 4
    assert "Traceback" not in r.err
    (tmp_path / "m.skops").mkdir()
    r = run_cli("register", "router", "--artifact", "m.skops")
    assert r.code == 4
    assert "not a file" in r.err


def test_audit_verify_exits_1_for_a_deleted_and_a_truncated_event(
    run_cli: Runner, tmp_path: Path
) -> None:
    _project(tmp_path)
    run_cli("service", "apply")
    for factory in ("v1", "v2", "KeywordModel"):
        r = run_cli("register", "router", "--entrypoint", f"tests.server.models:{factory}")
        assert r.code == 0, r.err
    assert run_cli("audit", "verify", "--json").json() == {"ok": True, "events": 4, "problems": []}
    db = sqlite3.connect(tmp_path / ".liveops" / "liveops.db")
    db.execute("DELETE FROM audit_events WHERE seq = 4")
    db.commit()
    r = run_cli("audit", "verify", "--json")
    assert r.code == 1
    assert not r.json()["ok"]
    db.execute("DELETE FROM audit_events WHERE seq = 2")
    db.commit()
    r = run_cli("audit", "verify")
    assert r.code == 1
    assert "missing" in r.out


def test_an_unexpected_failure_is_one_line_not_a_traceback(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("liveops.services.registry.apply_project", broken)
    r = run_cli("service", "apply")
    assert r.code == 4
    assert "internal error: RuntimeError: disk on fire" in r.err
    assert "Traceback" not in r.err
    assert "LIVEOPS_DEBUG=1" in r.err


@pytest.mark.parametrize("setting", ["threshold=abc", "bogus=1", "below_threshold=maybe"])
def test_a_bad_config_value_is_a_usage_error_like_an_unknown_key(
    run_cli: Runner, tmp_path: Path, setting: str
) -> None:
    # Both are mistakes in the command line, so both exit 2, and nothing is registered.
    _project(tmp_path)
    run_cli("service", "apply")
    m = train_tiny(tmp_path / "m.skops")
    r = run_cli("register", "router", "--artifact", str(m), "-c", setting)
    assert r.code == 2, r.err
    assert setting.split("=")[0] in r.err
    assert "Traceback" not in r.err
    assert run_cli("versions", "list", "router", "--json").json() == []


@pytest.mark.parametrize("url", ["mysql://me@localhost/liveops", "not a url at all://"])
def test_an_unsupported_database_url_exits_4_naming_the_supported_ones(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # The URL comes from the environment, not the command line: not a usage error.
    _project(tmp_path)
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", url)
    r = run_cli("versions", "list", "router")
    assert r.code == 4, r.err
    assert "sqlite:///" in r.err
    assert "postgresql://" in r.err
    assert "Traceback" not in r.err
