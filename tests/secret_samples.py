"""Secrets of every kind the redaction knows, and text that must stay as it is (shared by the
redaction, bundle, Console exporter and log store tests). Made up; none is a real key."""

from __future__ import annotations

AWS_KEY = "AKIA" + "Q3EXAMPLE7TOKEN9"
AWS_TEMP_KEY = "ASIA" + "ZZ99EXAMPLE00KEY"
GITHUB = {p: p + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r" + p[1]
          for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")}
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM_BODY = ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
            "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY)
       + "\n-----END RSA PRIVATE KEY-----")
PAIRS = {  # name -> secret value written as name=value
    "password": "Pw0-Secret-Alpha", "passwd": "Pw1-Secret-Beta", "pwd": "Pw2-Secret-Gamma",
    "token": "Tok-Secret-Delta", "secret": "Sec-Secret-Eps", "api_key": "ApiK-Secret-Zeta",
    "apikey": "ApiK2-Secret-Eta",
}
JSON_PASSWORD = "JsonPw-Secret-Theta"
BEARER = "BearerSecret-Iota.987"

#: Every secret value above (what must never be seen again).
ALL = (AWS_KEY, AWS_TEMP_KEY, *GITHUB.values(), GITHUB_PAT, SLACK, JWT, *PEM_BODY,
       *PAIRS.values(), JSON_PASSWORD, BEARER)


def secret_lines() -> list[str]:
    """Log lines carrying every secret, as an editor might write them."""
    return "\n".join(secret_messages()).splitlines()


def secret_messages() -> list[str]:
    """Messages (log bodies, attribute values) carrying every secret; the PEM block is one
    message of several lines."""
    return [
        f"aws: using access key {AWS_KEY} for upload",
        f"sts: temporary key {AWS_TEMP_KEY}",
        *(f"git: auth with {tok}" for tok in GITHUB.values()),
        f"git: fine-grained token {GITHUB_PAT}",
        f"slack: posting with {SLACK}",
        f"session cookie jar holds {JWT} for the cloud",
        f"key loaded:\n{PEM}",
        *(f"connect {name}={value} retry=3" for name, value in PAIRS.items()),
        f'{{"user": "ed", "password": "{JSON_PASSWORD}"}}',
        f"GET /upload Authorization: Bearer {BEARER}",
    ]


#: Text that must come out unchanged.
INNOCENT = (
    "Rendering finished in 12.5 s for project Summer Trip, 3600 frames",
    "project id 123e4567-e89b-12d3-a456-426614174000 opened",
    "trace 0af7651916cd43dd8448eb211c80319c span b7ad6b7169203331",
    "wrote /srv/media/projects/summer/render-0001.mp4",
    "AKIA is a prefix; the token count is 3 and the secret sauce is time",
)
