"""Shape 3 - a resource server deciding whether to serve a bearer token: offline with PyJWT
against Tikti's JWKS, and (optionally) by RFC 7662 introspection with python3-authlib.

Offline checks: RS256 signature by a published key, iss, aud = this service's client id, exp, typ
at+jwt (tokens of /oauth/token; drop it if you also accept the legacy exchange's tokens) and tid =
the tenant you serve. No request per check, but a revoked token, a removed member or a disabled
client stay valid here until exp: revocation is visible only through introspection or
/accounts/validate.

    TIKTI_ISSUER=https://id.example.com AUDIENCE=reports-api TENANT=acme TOKEN=<bearer token> \
    [OAUTH_CLIENT_ID=acme/reports-api OAUTH_CLIENT_SECRET_FILE=/run/secrets/reports-api] \
    python3 examples/python/resource_server.py
"""
import os

import jwt
import jwt.api_jwt
from authlib.integrations.requests_client import OAuth2Session

from tikti_example import env, main, metadata, secret_file

issuer = env("TIKTI_ISSUER")
meta = metadata()
# One client per process: PyJWKClient caches the key set and looks a kid up again after rotation.
jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True)


def verify_offline(token):
    try:
        key = jwks.get_signing_key_from_jwt(token)
        # decode_complete: the verified header too (typ); PyJWT 2.6 has it in jwt.api_jwt only.
        decoded = jwt.api_jwt.decode_complete(
            token, key.key, algorithms=["RS256"], audience=env("AUDIENCE"), issuer=issuer, leeway=30,
            options={"require": ["exp", "iss", "aud", "sub", "tid"]},
        )
    except jwt.PyJWTError as e:
        return {"valid": False, "error": type(e).__name__}
    if decoded["header"].get("typ") != "at+jwt":
        return {"valid": False, "error": "not an OAuth access token"}
    if decoded["payload"]["tid"] != env("TENANT"):
        return {"valid": False, "error": "wrong tenant"}
    return {"valid": True, "claims": decoded["payload"]}


def introspect(token):
    session = OAuth2Session(env("OAUTH_CLIENT_ID"), secret_file("OAUTH_CLIENT_SECRET"),
                            token_endpoint_auth_method="client_secret_basic")
    res = session.introspect_token(meta["introspection_endpoint"], token=token, token_type_hint="access_token")
    res.raise_for_status()
    return res.json()


def check():
    token = env("TOKEN")
    out = {"offline": verify_offline(token)}
    if os.environ.get("OAUTH_CLIENT_ID"):
        out["introspection"] = introspect(token)
    return out


main(check)
