"""Secret references against real keyring backends (in-memory, and keyring's fail backend)."""

from __future__ import annotations

import keyring
import keyring.backends.null
import keyring.errors
import pytest
from memory_keyring import MemoryKeyring

from timeline_telemetry.config import SecretError, is_secret_ref, resolve_secret, set_secret


@pytest.mark.parametrize(("value", "ref"), [
    ("keyring:smtp_password", True), ("env:OTLP_TOKEN", True), ("keyring:a.b-c_1", True),
    ("keyring:", False), ("env:has space", False), ("Bearer xyz", False), ("vault:x", False),
    ("KEYRING:x", False), ("", False),
])
def test_is_secret_ref(value: str, ref: bool) -> None:
    assert is_secret_ref(value) is ref


def test_literals_pass_through() -> None:
    assert resolve_secret("Bearer xyz", environ={}) == "Bearer xyz"


def test_env_reference() -> None:
    assert resolve_secret("env:TOKEN", environ={"TOKEN": "t0k"}) == "t0k"
    with pytest.raises(SecretError) as info:
        resolve_secret("env:TOKEN", environ={"OTHER": "t0k"})
    assert str(info.value) == "env:TOKEN: the environment variable TOKEN is not set"


def test_keyring_round_trip(memory_keyring: MemoryKeyring) -> None:
    set_secret("smtp_password", "hunter2")
    assert memory_keyring.store == {("timeline-telemetry", "smtp_password"): "hunter2"}
    assert keyring.get_password("timeline-telemetry", "smtp_password") == "hunter2"
    assert resolve_secret("keyring:smtp_password") == "hunter2"


def test_missing_keyring_entry_names_it_and_the_fix(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("timeline-telemetry", "other", "s3cret")
    with pytest.raises(SecretError) as info:
        resolve_secret("keyring:smtp_password")
    message = str(info.value)
    assert "keyring:smtp_password" in message and "no such entry" in message
    assert "timeline-telemetry secret set smtp_password" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("call", [
    lambda: resolve_secret("keyring:smtp_password"),
    lambda: set_secret("smtp_password", "hunter2"),
])
def test_no_backend_says_how_to_fix(fail_keyring: None, call: object) -> None:
    with pytest.raises(SecretError) as info:
        call()  # type: ignore[operator]
    message = str(info.value)
    assert "keyring:smtp_password" in message and "no OS keyring is available" in message
    for fix in ("Secret Service", "GNOME Keyring", "KWallet", "Keychain",
                "Credential Manager", '"env:NAME"'):
        assert fix in message
    assert "hunter2" not in message


def test_null_backend_is_refused_for_storing(_restore_keyring: None) -> None:
    keyring.set_keyring(keyring.backends.null.Keyring())
    with pytest.raises(SecretError, match="no OS keyring is available"):
        set_secret("x", "v")


def test_injected_functions_and_backend_failures() -> None:
    calls: list[tuple[str, str]] = []

    def get(service: str, name: str) -> str | None:
        calls.append((service, name))
        return "v"

    assert resolve_secret("keyring:k", keyring_get=get) == "v"
    assert calls == [("timeline-telemetry", "k")]

    def locked(service: str, name: str, value: str) -> None:
        raise keyring.errors.KeyringLocked(f"cannot unlock to store {value}")

    with pytest.raises(SecretError) as info:
        set_secret("k", "hunter2", keyring_set=locked)
    assert str(info.value) == ("keyring:k: the OS keyring failed "
                               "(KeyringLocked: cannot unlock to store ***)")

    def broken_get(service: str, name: str) -> str | None:
        raise keyring.errors.InitError("no D-Bus session")

    with pytest.raises(SecretError, match=r"keyring:k: the OS keyring failed \(InitError"):
        resolve_secret("keyring:k", keyring_get=broken_get)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "ключ"])
def test_secret_names_are_validated(name: str) -> None:
    def never(service: str, key: str, value: str) -> None:
        raise AssertionError("must not reach the keyring")

    with pytest.raises(SecretError, match="secret name"):
        set_secret(name, "v", keyring_set=never)
    with pytest.raises(SecretError, match="secret name"):
        resolve_secret(f"env:{name}", environ={name: "v"})
