"""Configuration shared by the Python examples: the environment, secrets from files, and Tikti's
RFC 8414 metadata (the endpoints are read from there, not hard-coded)."""
import json
import os
import sys
from urllib.parse import urlparse

import requests


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit("set " + name)
    return value


def secret_file(name):
    """The secret in the file named by <name>_FILE, without its trailing newline."""
    with open(env(name + "_FILE"), encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def metadata():
    issuer = env("TIKTI_ISSUER")
    host = urlparse(issuer).hostname
    if issuer.startswith("http://") and host in ("127.0.0.1", "localhost", "::1"):
        # Plain http only for a server on this machine (development); authlib refuses it otherwise.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    res = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10)
    res.raise_for_status()
    meta = res.json()
    if meta.get("issuer") != issuer:
        raise SystemExit("metadata names another issuer: " + str(meta.get("issuer")))
    return meta


def main(body):
    """Prints body()'s result as JSON; a failure is one line on stderr (the RFC 6749 error code
    when the server sent one) and exit 1, never a traceback holding request details."""
    from authlib.integrations.base_client.errors import OAuthError
    try:
        print(json.dumps(body()))
    except OAuthError as e:
        sys.exit("error: %s: %s" % (e.error, e.description or ""))
    except requests.HTTPError as e:
        sys.exit("error: HTTP %s from %s" % (e.response.status_code, e.response.url))
