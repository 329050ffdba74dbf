"""Shape 2 - a backend exchanging a user's token (RFC 8693), with python3-authlib.

The user signed in to Tikti and sent their idToken to this backend; the backend trades it for an
access token to call AUDIENCE on the user's behalf (subject = the user, scopes capped by the user's
permissions in the backend's tenant, client_id = the backend).

    TIKTI_ISSUER=https://id.example.com OAUTH_CLIENT_ID=acme/web-backend \
    OAUTH_CLIENT_SECRET_FILE=/run/secrets/web-backend SUBJECT_TOKEN=<the user's idToken> \
    AUDIENCE=reports-api SCOPE=reports:read python3 examples/python/backend_exchange.py
"""
import os

from authlib.integrations.requests_client import OAuth2Session

from tikti_example import env, main, metadata, secret_file

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def exchange():
    meta = metadata()
    session = OAuth2Session(env("OAUTH_CLIENT_ID"), secret_file("OAUTH_CLIENT_SECRET"),
                            token_endpoint_auth_method="client_secret_basic")
    subject_type = "access_token" if os.environ.get("SUBJECT_TOKEN_TYPE") == "access_token" else "id_token"
    extra = {"scope": os.environ["SCOPE"]} if os.environ.get("SCOPE") else {}
    token = session.fetch_token(
        meta["token_endpoint"],
        grant_type=TOKEN_EXCHANGE,
        subject_token=env("SUBJECT_TOKEN"),
        subject_token_type="urn:ietf:params:oauth:token-type:" + subject_type,
        audience=env("AUDIENCE"),
        **extra,
    )
    return {k: token[k] for k in ("access_token", "issued_token_type", "expires_in", "scope") if k in token}


main(exchange)
