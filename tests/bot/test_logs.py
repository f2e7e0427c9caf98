from __future__ import annotations

import io
import logging

from bot.logs import setup_logging

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.ThisIsAFakeTokenValue_abcdefghijkl"
HOOK = "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jklMNOpqrSTUvwxYZ0123456789abcdefghijklmnopqrstuvwxyz12"


def test_secrets_are_redacted_in_messages_and_tracebacks() -> None:
    buf = io.StringIO()
    setup_logging("INFO", [TOKEN], stream=buf)
    log = logging.getLogger("flowwatch.test")
    log.info("token is %s", TOKEN)
    log.warning("posting to %s failed", HOOK)
    try:
        raise RuntimeError(f"bad auth {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    out = buf.getvalue()
    assert TOKEN not in out
    assert "abcDEF-ghi" not in out and "/webhooks/123456789012345678/***" in out
    assert out.count("***") >= 3


def test_secrets_from_dotenv_are_redacted_after_settings_load(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import logging as _logging

    from bot.cli import _settings, main

    (tmp_path / ".env").write_text(
        f"DISCORD_WEBHOOK_URL={HOOK}\nFLOWWATCH_DEADMAN_URL=https://hc.example/ping/s3cr3t-uuid\n"
    )
    monkeypatch.chdir(tmp_path)
    main(["db", "migrate", "--db", str(tmp_path / "x.db")])  # sets up logging, loads settings
    _logging.getLogger("flowwatch.test").warning("ping https://hc.example/ping/s3cr3t-uuid failed")
    err = capsys.readouterr().err
    assert "s3cr3t-uuid" not in err and "***" in err
    assert _settings is not None
