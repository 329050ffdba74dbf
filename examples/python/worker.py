"""Shape 1 - a worker with client credentials (RFC 6749 section 4.4), with python3-authlib.

    TIKTI_ISSUER=https://id.example.com OAUTH_CLIENT_ID=acme/report-job \
    OAUTH_CLIENT_SECRET_FILE=/run/secrets/report-job AUDIENCE=reports-api SCOPE=reports:read \
    python3 examples/python/worker.py

OAUTH_AUTH_METHOD=client_secret_post sends the secret in the form instead of the Basic header.
Prints the token response as JSON. Keep the token until shortly before expires_in runs out, then
ask again (there is no refresh token for client credentials).
"""
import os

from authlib.integrations.requests_client import OAuth2Session

from tikti_example import env, main, metadata, secret_file


def fetch():
    meta = metadata()
    session = OAuth2Session(
        env("OAUTH_CLIENT_ID"),
        secret_file("OAUTH_CLIENT_SECRET"),
        token_endpoint_auth_method=os.environ.get("OAUTH_AUTH_METHOD", "client_secret_basic"),
        scope=os.environ.get("SCOPE") or None,
    )
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                                audience=env("AUDIENCE"))
    return {k: token[k] for k in ("access_token", "expires_in", "scope") if k in token}


main(fetch)
