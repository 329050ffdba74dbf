"""Drives a running Tikti with Debian's python3-authlib (test/oauth/e2e/authlib.test.ts).

Input: one JSON object on stdin (issuer, clients, an idToken). Output: one JSON object on stdout
with what authlib obtained and saw; the TypeScript test verifies the tokens with jose.
"""
import json
import os
import sys

# Tikti runs on http://127.0.0.1 in the test; authlib refuses plain http unless told otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # noqa: E402

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"

cfg = json.load(sys.stdin)
issuer = cfg["issuer"]
out = {}

# RFC 8414: fetch the metadata and run authlib's validation of every member.
raw = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
metadata = AuthorizationServerMetadata(raw)
failures = {}
for key in metadata.REGISTRY_KEYS:
    try:
        getattr(metadata, "validate_" + key)()
    except ValueError as e:
        failures[key] = str(e)
out["metadataFailures"] = failures
try:
    metadata.validate()
    out["metadataValid"] = True
except ValueError as e:
    out["metadataValid"] = False
    out["metadataError"] = str(e)
token_endpoint = metadata["token_endpoint"]
out["tokenEndpoint"] = token_endpoint

for method in ("client_secret_basic", "client_secret_post"):
    session = OAuth2Session(
        cfg["worker"]["id"], cfg["worker"]["secret"], token_endpoint_auth_method=method, scope="docs:read"
    )
    token = session.fetch_token(token_endpoint, grant_type="client_credentials", audience="docs-api")
    out[method] = {"access_token": token["access_token"], "token_type": token["token_type"],
                   "expires_in": token["expires_in"]}

backend = OAuth2Session(cfg["backend"]["id"], cfg["backend"]["secret"],
                        token_endpoint_auth_method="client_secret_basic")
exchanged = backend.fetch_token(
    token_endpoint,
    grant_type=TOKEN_EXCHANGE,
    subject_token=cfg["idToken"],
    subject_token_type="urn:ietf:params:oauth:token-type:id_token",
    audience="docs-api",
    scope="docs:read",
)
out["exchange"] = {"access_token": exchanged["access_token"],
                   "issued_token_type": exchanged.get("issued_token_type")}

# A wrong secret: authlib raises OAuthError carrying the RFC 6749 error code.
try:
    OAuth2Session(cfg["worker"]["id"], "wrong", token_endpoint_auth_method="client_secret_post").fetch_token(
        token_endpoint, grant_type="client_credentials")
    out["wrongSecret"] = "accepted"
except Exception as e:  # authlib.integrations.base_client.errors.OAuthError
    out["wrongSecret"] = getattr(e, "error", repr(e))

# RFC 7662 introspection and RFC 7009 revocation with the session's own client authentication
# (authlib uses revocation_endpoint_auth_method for both endpoints).
for method in ("client_secret_basic", "client_secret_post"):
    session = OAuth2Session(cfg["worker"]["id"], cfg["worker"]["secret"], token_endpoint_auth_method=method,
                            revocation_endpoint_auth_method=method, scope="docs:read")
    access = session.fetch_token(token_endpoint, grant_type="client_credentials", audience="docs-api")["access_token"]
    before = session.introspect_token(metadata["introspection_endpoint"], token=access,
                                      token_type_hint="access_token")
    revoked = session.revoke_token(metadata["revocation_endpoint"], token=access, token_type_hint="access_token")
    after = session.introspect_token(metadata["introspection_endpoint"], token=access)
    out["revocation_" + method] = {
        "accessToken": access,
        "before": {"status": before.status_code, "body": before.json()},
        "revokeStatus": revoked.status_code,
        "after": {"status": after.status_code, "body": after.json()},
    }

json.dump(out, sys.stdout)
