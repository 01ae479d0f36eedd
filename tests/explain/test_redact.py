"""Secret redaction: every credential shape is masked, the words around it survive."""

from __future__ import annotations

import pytest

from k8sdoctor.explain.redact import redact

# Secret-shaped sample values are assembled at run time so that secret scanners do not flag
# this file; none of them is a real credential.
_JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiJhZG1pbiJ9" + "." + "dBjftJeZ4CVPmB92K27uhbUJU1p1r"
_AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
_GCP_KEY = "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
_GITHUB = "ghp_" + "a" * 36
_GITHUB_FINE_GRAINED = "github_pat_" + "11ABCDEFG0" * 2 + "_" + "x" * 59
_GITLAB = "glpat-" + "Zx8y7W6v5U4t3S2r1Q0p"
_STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
_PGP_KEY = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXk\n-----END PGP PRIVATE KEY BLOCK-----"
_PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        ("GET /api/orders Authorization: Bearer s3cr3tT0kenValue42", "s3cr3tT0kenValue42",
         "Authorization: Bearer [REDACTED:token]"),
        ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "Basic [REDACTED"),
        ("connecting to postgres://orders:Pa55w0rd!@db.shop.svc:5432/orders", "Pa55w0rd!",
         "postgres://orders:[REDACTED:password]@db.shop.svc:5432/orders"),
        ("config: DB_PASSWORD=hunter2 loaded", "hunter2", "DB_PASSWORD=[REDACTED:secret]"),
        ('{"user": "app", "password": "hunter2"}', "hunter2", '"user": "app"'),
        ("client_secret: 9f8e7d6c5b4a", "9f8e7d6c5b4a", "client_secret: [REDACTED:secret]"),
        ("api_key=abcdef123456&region=eu", "abcdef123456", "&region=eu"),
        (f"token verified: {_JWT}", _JWT, "[REDACTED:jwt]"),
        (f"using credentials {_AWS_ID} for s3", _AWS_ID, "[REDACTED:aws-key] for s3"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key"),
        (f"maps key {_GCP_KEY}", _GCP_KEY, "[REDACTED:gcp-api-key]"),
        ("DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=Zm9vYmFyYmF6cXV4==;",
         "Zm9vYmFyYmF6cXV4==", "AccountName=shop"),
        ("https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=abcDEF123%2Bxyz",
         "abcDEF123%2Bxyz", "sv=2022-11-02"),
        (f"pushing with {_GITHUB}", _GITHUB, "[REDACTED:github-token]"),
        (f"loaded key\n{_PRIVATE_KEY}\nstarting", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
         "[REDACTED:private-key]\nstarting"),
        ("connecting to redis://:s3cretpass@redis-master:6379/0", "s3cretpass",
         "redis://:[REDACTED:password]@redis-master:6379/0"),
        ('{"user": "app", "password": "correct horse battery staple"}', "horse battery",
         '"password": "[REDACTED:secret]"}'),
        ('export DB_PASSWORD="two words"; exec app', "two words",
         "DB_PASSWORD=[REDACTED:secret]; exec app"),
        ("exec migrate --password hunter2 --user app", "hunter2",
         "--password [REDACTED:secret] --user app"),
        ("refresh token 9f3ac1d2e4b5a6c7d8e9f0a1 expired", "9f3ac1d2e4b5a6c7d8e9f0a1",
         "refresh token [REDACTED:token] expired"),
        ("Authorization: ApiKey a1b2c3d4e5f6g7h8", "a1b2c3d4e5f6g7h8", "Authorization: ApiKey "),
        ("Cookie: sessionid=8a7b6c5d4e; theme=dark", "8a7b6c5d4e", "; theme=dark"),
        (f"cloning with {_GITHUB_FINE_GRAINED}", _GITHUB_FINE_GRAINED, "[REDACTED:github-token]"),
        (f"CI_JOB_TOKEN unset, using {_GITLAB}", _GITLAB, "[REDACTED:gitlab-token]"),
        (f"charging with {_STRIPE}", _STRIPE, "[REDACTED:stripe-key]"),
        (f"key\n{_PGP_KEY}\ndone", "lQOYBGXk", "[REDACTED:private-key]\ndone"),
    ],
)
def test_secret_is_redacted_and_context_kept(line: str, secret: str, kept: str) -> None:
    redacted = redact(line)
    assert secret not in redacted
    assert kept in redacted


def test_a_truncated_private_key_is_still_redacted() -> None:
    cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert redact(cut) == "[REDACTED:private-key]"


@pytest.mark.parametrize(
    "line",
    [
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "Error: connect ECONNREFUSED 10.96.12.40:5432",
        "listening on :8080, author=jane",
        "2026-11-20T09:58:01Z INFO starting worker pool size=8",
        "cannot pull image: the repository does not exist or needs credentials: "
        '"Failed to pull image \\"registry.example/app:1\\""',
        "error: invalid token: signature is invalid",
        "invalid token provided by client; auth: failed for user app",
        "server message: insufficient_scope: authorization failed",
        'MountVolume.SetUp failed for volume "certs" : secret "shop-tls" not found',
        "automountServiceAccountToken: false, tokens=512",
        "PWD=/usr/src/app OLDPWD=/",
        "kubectl create secret generic db --from-literal=password=<value>",
    ],
)
def test_ordinary_log_lines_pass_unchanged(line: str) -> None:
    assert redact(line) == line


def test_redaction_is_idempotent() -> None:
    once = redact(f"password=hunter2 Authorization: Bearer {_JWT}")
    assert redact(once) == once
