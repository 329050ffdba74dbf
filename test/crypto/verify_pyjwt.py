"""Verifies Tikti access tokens with Debian's PyJWT (python3-jwt) through a JWKS, as a Python
resource server would: stdin is {"jwks": {...}, "issuer": ..., "tokens": [{"token", "audience"}]};
stdout is one JSON list of {"alg", "kid", "claims"} or {"error"} per token.
Run with /usr/bin/python3 (test/crypto/access-token-algs.test.ts)."""
import json
import sys

import jwt
from jwt import PyJWK

request = json.load(sys.stdin)
keys = {k["kid"]: k for k in request["jwks"]["keys"]}
out = []
for item in request["tokens"]:
    try:
        header = jwt.get_unverified_header(item["token"])
        jwk = keys[header["kid"]]
        # The algorithm comes from the published key, never from the token (RFC 8725 §3.1).
        claims = jwt.decode(
            item["token"],
            key=PyJWK(jwk).key,
            algorithms=[jwk["alg"]],
            audience=item["audience"],
            issuer=request["issuer"],
            options={"verify_iat": False},
        )
        out.append({"alg": header["alg"], "kid": header["kid"], "claims": claims})
    except Exception as e:  # reported to the test, which fails on any error
        out.append({"error": f"{type(e).__name__}: {e}"})
json.dump(out, sys.stdout)
