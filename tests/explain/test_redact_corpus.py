"""A corpus of real secret shapes, each in the text it is usually found in: the secret goes, and
every character around it survives exactly, so the line still says what happened.

Secret-shaped values are assembled at run time so that secret scanners do not flag this file;
none of them is a real credential.
"""

from __future__ import annotations

import pytest

from k8sdoctor.explain.redact import redact

_AWS_ID = "AKIA" + "Z7QW3XK9PL2MN4RT"
_AWS_SECRET = "wJalrXUtnFEMI" + "/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
_GCP_KEY = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
_GCP_TOKEN = "ya29" + ".a0AfH6SMBx7QvJ2mXcN9rT4kLp8wYz"
_GCP_CLIENT_SECRET = "GOCSPX" + "-1a2B3c4D5e6F7g8H9i0J1k2L"
_AZURE_KEY = "Zm9vYmFyYmF6" + "cXV4cXV1eDEyMzQ1Njc4OTA="
_JWT = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJpc3MiOiJrdWJlcm5ldGVzIn0" + "."
        + "c2lnbmF0dXJlLXBhcnQtb2YtdGhlLWp3dA")
_GITHUB = "ghp_" + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Gh5"
_NPM = "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
_PYPI = "pypi-" + "AgEIcHlwaS5vcmcCJGY4ZTM5YjE3LTI2NDgtNGM3ZC1hNzQ2LWZhZjk2ZTRhOWFhMwACKlsz"
_SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrSt"
_SLACK_HOOK = "T0123ABCD/B0456EFGH/" + "xYz123AbC456dEf789GhI012"
_SENDGRID = "SG." + "a1B2c3D4e5F6g7H8i9J0kL" + "." + "m1N2o3P4q5R6s7T8u9V0w1X2y3Z4a5B6c7D8e9F0g1H"
_OPENAI = "sk-proj-" + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Gh5"
_ANTHROPIC = "sk-ant-" + "api03-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1"
_STRIPE = "sk_" + "live_" + "51HxYz2eZvKYlo2C0a1b2c3d4"
_BASIC = "YWRtaW46" + "czNjcjN0UGFzcw=="
_OPAQUE = "Zk3q9Lr2" + "Pw8xT5vN"
_PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
_PEMS = {
    kind: f"-----BEGIN {kind}PRIVATE KEY-----\n{_PEM_BODY}\n-----END {kind}PRIVATE KEY-----"
    for kind in ("", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA ")
}
R = "[REDACTED:secret]"

CORPUS: list[tuple[str, str, str]] = [
    # (line, the secret that must go, the exact redacted line)
    # -- cloud keys
    (f"s3 upload failed for key {_AWS_ID}: AccessDenied", _AWS_ID,
     "s3 upload failed for key [REDACTED:aws-key]: AccessDenied"),
    (f"aws_secret_access_key = {_AWS_SECRET}", _AWS_SECRET, f"aws_secret_access_key = {R}"),
    (f"AWS_SECRET_ACCESS_KEY={_AWS_SECRET} aws s3 ls", _AWS_SECRET,
     f"AWS_SECRET_ACCESS_KEY={R} aws s3 ls"),
    (f"geocoding with key={_GCP_KEY} failed: 403", _GCP_KEY,
     "geocoding with key=[REDACTED:gcp-api-key] failed: 403"),
    (f"metadata server token {_GCP_TOKEN} rejected", _GCP_TOKEN,
     "metadata server token [REDACTED:token] rejected"),
    (f'{{"client_id": "123.apps.googleusercontent.com", "client_secret": "{_GCP_CLIENT_SECRET}"}}',
     _GCP_CLIENT_SECRET,
     '{"client_id": "123.apps.googleusercontent.com", '
     '"client_secret": "[REDACTED:oauth-client-secret]"}'),
    (f"DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey={_AZURE_KEY};"
     "EndpointSuffix=core.windows.net", _AZURE_KEY,
     f"DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey={R};"
     "EndpointSuffix=core.windows.net"),
    ("GET https://shopdata.blob.core.windows.net/backups?sv=2022-11-02&se=2026-12-01&sig="
     "k3Yx9%2BqLm7Zp%3D&sp=r 403", "k3Yx9%2BqLm7Zp%3D",
     f"GET https://shopdata.blob.core.windows.net/backups?sv=2022-11-02&se=2026-12-01&sig={R}"
     "&sp=r 403"),
    # -- bearer and basic auth, API key headers
    (f"> GET /v1/orders HTTP/1.1\r\n> Authorization: Bearer {_JWT}\r\n> Accept: */*",
     _JWT, "> GET /v1/orders HTTP/1.1\r\n> Authorization: Bearer [REDACTED:jwt]\r\n"
     "> Accept: */*"),
    (f"proxy said 407 to Proxy-Authorization: Basic {_BASIC} (retrying)", _BASIC,
     "proxy said 407 to Proxy-Authorization: Basic [REDACTED:basic-auth] (retrying)"),
    (f"curl -H 'x-api-key: {_OPAQUE}' https://api.partner.example/v2", _OPAQUE,
     f"curl -H 'x-api-key: {R}' https://api.partner.example/v2"),
    (f"header x-api-key: {_OPAQUE} was rejected", _OPAQUE,
     f"header x-api-key: {R} was rejected"),
    (f"X-Auth-Token: {_OPAQUE}", _OPAQUE, f"X-Auth-Token: {R}"),
    (f"calling partner with apikey {_OPAQUE} timed out", _OPAQUE,
     f"calling partner with apikey {R} timed out"),
    (f"retry (token={_OPAQUE}) after 5s", _OPAQUE, f"retry (token={R}) after 5s"),
    (f"login failed [password={_OPAQUE}].", _OPAQUE, f"login failed [password={R}]."),
    # -- URL credentials
    (f"dial postgres://orders:{_OPAQUE}@db.shop.svc:5432/orders?sslmode=require", _OPAQUE,
     "dial postgres://orders:[REDACTED:password]@db.shop.svc:5432/orders?sslmode=require"),
    (f"mongodb+srv://app:{_OPAQUE}@cluster0.ab1cd.mongodb.net/shop?retryWrites=true", _OPAQUE,
     "mongodb+srv://app:[REDACTED:password]@cluster0.ab1cd.mongodb.net/shop?retryWrites=true"),
    (f"amqp://guest:{_OPAQUE}@rabbitmq:5672/ connection refused", _OPAQUE,
     "amqp://guest:[REDACTED:password]@rabbitmq:5672/ connection refused"),
    (f"git clone https://ci:{_GITHUB}@github.com/shop/app.git", _GITHUB,
     "git clone https://ci:[REDACTED:password]@github.com/shop/app.git"),
    # -- PEM blocks
    *[(f"loaded key from /etc/tls/key.pem\n{pem}\nserving on :8443", _PEM_BODY,
       "loaded key from /etc/tls/key.pem\n[REDACTED:private-key]\nserving on :8443")
      for pem in _PEMS.values()],
    ('{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
     f'{_PEM_BODY}\\n-----END PRIVATE KEY-----\\n", "client_email": "sa@p.iam"}}', _PEM_BODY,
     '{"type": "service_account", "private_key": "[REDACTED:private-key]\\n", '
     '"client_email": "sa@p.iam"}'),
    (f"client-key-data: {_AZURE_KEY}", _AZURE_KEY, f"client-key-data: {R}"),
    # -- JWTs
    (f"service account token {_JWT} expired at 10:00", _JWT,
     "service account token [REDACTED:jwt] expired at 10:00"),
    # -- .npmrc and .pypirc
    (f"//registry.npmjs.org/:_authToken={_NPM}", _NPM,
     "//registry.npmjs.org/:_authToken=[REDACTED:npm-token]"),
    (f"npm ERR! 401 token {_NPM} is not valid", _NPM,
     "npm ERR! 401 token [REDACTED:token] is not valid"),
    (f"[pypi]\nusername = __token__\npassword = {_PYPI}\n", _PYPI,
     "[pypi]\nusername = __token__\npassword = [REDACTED:pypi-token]\n"),
    (f"twine upload with {_PYPI} failed", _PYPI, "twine upload with [REDACTED:pypi-token] failed"),
    # -- connection strings
    (f"Server=tcp:sql.shop.internal,1433;Database=orders;User ID=app;Password={_OPAQUE};"
     "Encrypt=true", _OPAQUE,
     f"Server=tcp:sql.shop.internal,1433;Database=orders;User ID=app;Password={R};"
     "Encrypt=true"),
    (f"Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd={_OPAQUE};", _OPAQUE,
     f"Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd={R};"),
    (f"jdbc:postgresql://db:5432/orders?user=app&password={_OPAQUE}&ssl=true", _OPAQUE,
     f"jdbc:postgresql://db:5432/orders?user=app&password={R}&ssl=true"),
    (f"redis: AUTH failed, REDIS_PASSWORD={_OPAQUE}", _OPAQUE,
     f"redis: AUTH failed, REDIS_PASSWORD={R}"),
    # -- SaaS tokens
    (f"slack post with {_SLACK} failed: invalid_auth", _SLACK,
     "slack post with [REDACTED:slack-token] failed: invalid_auth"),
    (f"POST https://hooks.slack.com/services/{_SLACK_HOOK} 404", _SLACK_HOOK,
     "POST https://hooks.slack.com/services/[REDACTED:webhook] 404"),
    (f"mail via {_SENDGRID} refused", _SENDGRID, "mail via [REDACTED:sendgrid-key] refused"),
    (f"OPENAI_API_KEY={_OPENAI}", _OPENAI, "OPENAI_API_KEY=[REDACTED:api-key]"),
    (f"using {_ANTHROPIC} for summaries", _ANTHROPIC, "using [REDACTED:api-key] for summaries"),
    (f"charge failed with {_STRIPE}: card_declined", _STRIPE,
     "charge failed with [REDACTED:stripe-key]: card_declined"),
    (f'{{"auths": {{"registry.shop.io": {{"auth": "{_BASIC}"}}}}}}', _BASIC,
     f'{{"auths": {{"registry.shop.io": {{"auth": "{R}"}}}}}}'),
]


@pytest.mark.parametrize(("line", "secret", "expected"), CORPUS,
                         ids=[f"{i:02d}" for i in range(len(CORPUS))])
def test_the_secret_goes_and_the_text_around_it_stays(line: str, secret: str,
                                                      expected: str) -> None:
    redacted = redact(line)
    assert secret not in redacted
    assert redacted == expected


@pytest.mark.parametrize("line", [
    "x-api-key header missing; see the partner docs",
    "apikey rotation is due next week",
    "the api key is read from the environment",
    "(token refresh scheduled)",
    "Readiness probe failed: HTTP probe failed with statuscode: 503",
    "Back-off pulling image \"registry.shop.io/app:1.4.2\"",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n"
    "-----END CERTIFICATE-----",
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available",
])
def test_text_that_only_talks_about_secrets_is_left_alone(line: str) -> None:
    assert redact(line) == line
