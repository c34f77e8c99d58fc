"""Secret references: ``"keyring:NAME"`` (OS keyring, service ``timeline-telemetry``) and
``"env:NAME"`` (an environment variable).

The config keeps the reference; the value is looked up only when used, and never logged,
rendered or put in an error message. ``keyring`` is imported lazily, on first use (its
import alone takes ~150 ms).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

__all__ = [
    "KEYRING_SERVICE",
    "SECRET_SCHEMES",
    "SecretError",
    "is_secret_ref",
    "resolve_secret",
    "set_secret",
    "validate_secret_name",
]

KEYRING_SERVICE = "timeline-telemetry"
SECRET_SCHEMES = ("keyring", "env")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")

KeyringGet = Callable[[str, str], str | None]
KeyringSet = Callable[[str, str, str], None]


class SecretError(Exception):
    """A secret could not be read or stored. The message names the reference, never a value."""


def _no_backend(action: str) -> SecretError:
    return SecretError(
        f"no OS keyring is available to {action}. Start a Secret Service such as GNOME "
        "Keyring or KWallet in your desktop session (macOS Keychain and Windows Credential "
        "Manager work out of the box), or keep the secret in an environment variable and "
        'write "env:NAME" in the config instead'
    )


def validate_secret_name(name: str) -> None:
    """Raise :class:`SecretError` unless ``name`` is letters, digits, ``_``, ``.``, ``-``."""
    if not name:
        raise SecretError("the secret name is missing (e.g. keyring:smtp_password)")
    if not _NAME.fullmatch(name):
        raise SecretError(
            f'a secret name is letters, digits, "_", "." or "-" (e.g. smtp_password); got {name!r}'
        )


def _split(value: str) -> tuple[str, str] | None:
    scheme, sep, name = value.partition(":")
    if sep and scheme in SECRET_SCHEMES:
        return scheme, name
    return None


def is_secret_ref(value: object) -> bool:
    """Whether ``value`` is a well-formed ``keyring:NAME`` or ``env:NAME`` reference."""
    if not isinstance(value, str):
        return False
    parts = _split(value)
    return parts is not None and bool(_NAME.fullmatch(parts[1]))


def resolve_secret(
    value: str,
    *,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
) -> str:
    """The secret a reference points to; a literal (non-reference) string is returned as is.

    ``keyring_get(service, name)`` defaults to ``keyring.get_password``. Raises
    :class:`SecretError` for a malformed reference, a missing variable or keyring entry, or
    an unusable keyring (the message then says how to fix it).
    """
    parts = _split(value)
    if parts is None:
        return value
    scheme, name = parts
    validate_secret_name(name)
    if scheme == "env":
        found = environ.get(name)
        if found is None:
            raise SecretError(f"env:{name}: the environment variable {name} is not set")
        return found
    from keyring.errors import KeyringError, NoKeyringError

    getter = keyring_get if keyring_get is not None else _default_get
    try:
        secret = getter(KEYRING_SERVICE, name)
    except NoKeyringError:
        raise _no_backend(f"read keyring:{name}") from None
    except KeyringError as exc:
        raise SecretError(
            f"keyring:{name}: the OS keyring failed ({type(exc).__name__}: {exc})"
        ) from None
    if secret is None:
        raise SecretError(
            f"keyring:{name}: no such entry in the OS keyring (service {KEYRING_SERVICE!r}); "
            f"store it with: timeline-telemetry secret set {name}"
        )
    return secret


def set_secret(name: str, value: str, *, keyring_set: KeyringSet | None = None) -> None:
    """Store ``value`` in the OS keyring under ``name`` (service ``timeline-telemetry``).

    ``keyring_set(service, name, value)`` defaults to ``keyring.set_password`` after checking
    that the active backend is a real OS keyring (not the fail/null backends, nor a
    ``keyrings.alt`` plaintext file). Raises :class:`SecretError`; never shows ``value``.
    """
    validate_secret_name(name)
    from keyring.errors import KeyringError, NoKeyringError

    setter = keyring_set if keyring_set is not None else _default_set
    try:
        setter(KEYRING_SERVICE, name, value)
    except NoKeyringError:
        raise _no_backend(f"store keyring:{name}") from None
    except KeyringError as exc:
        detail = str(exc).replace(value, "***") if value else str(exc)
        raise SecretError(
            f"keyring:{name}: the OS keyring failed ({type(exc).__name__}: {detail})"
        ) from None


def _default_get(service: str, name: str) -> str | None:
    import keyring

    return keyring.get_password(service, name)


def require_keyring(name: str) -> None:
    """Raise :class:`SecretError` now if ``keyring:NAME`` could not be stored (no real OS
    keyring), so ``secret set`` says so before asking for the secret."""
    from keyring.errors import NoKeyringError

    try:
        _real_backend()
    except NoKeyringError:
        raise _no_backend(f"store keyring:{name}") from None


def _real_backend() -> object:
    import keyring
    from keyring.errors import NoKeyringError

    backend = keyring.get_keyring()
    module = type(backend).__module__
    if module in ("keyring.backends.fail", "keyring.backends.null"):
        raise NoKeyringError(module)
    if module.startswith("keyrings.alt"):
        # keyrings.alt stores secrets in a plaintext or weakly encrypted file: not a keyring.
        raise NoKeyringError(module)
    return backend


def _default_set(service: str, name: str, value: str) -> None:
    import keyring

    _real_backend()
    keyring.set_password(service, name, value)
