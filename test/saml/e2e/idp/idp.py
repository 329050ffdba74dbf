#!/usr/bin/python3
"""
A real, independent SAML 2.0 IdP for Tikti's end-to-end tests (docs/spec/saml.md §16): Debian's pysaml2
(saml2.server.Server) signing and encrypting through xmlsec1, served by http.server on 127.0.0.1.

Started by test/saml/e2e/harness.ts as `/usr/bin/python3 idp.py <config.json>` (the Debian packages
are only visible to /usr/bin/python3, §16.3 item 1). Config JSON:

    {"dir": "<temp dir for keys>", "spMetadataPath": "<Tikti's SP metadata>",
     "user": {"nameId": "...", "mail": "...", "displayName": "...", "groups": ["..."]},
     "sloBinding": "redirect" | "post",   (the SLO binding the IdP metadata advertises; default redirect)
     "knobs": {...}}                      (default knobs for requests without X-Idp-Options: a browser
                                           sends no such header)

On start it generates a throwaway RSA-2048 key and self-signed certificate (§16.2 item 1), binds a
free port and prints ONE line `{"ready": true, "port": N, "base": "http://127.0.0.1:N", ...}` on
stdout: the harness waits for that line, not for a timer.

Browser-facing endpoints (what Tikti's redirects point at):
  GET  /metadata   the IdP metadata (register it with PUT /tenants/:tid/saml/idp)
  GET  /sso        HTTP-Redirect AuthnRequest -> the test user is logged in without a UI and the
                   Response comes back as an auto-submit HTML form, or as JSON
                   {"binding", "url", "SAMLResponse", "RelayState"} when `Accept: application/json`.
                   Per-request knobs: header `X-Idp-Options` with a JSON object (see `Knobs`).
  POST /sso/login  the optional login form's answer (knob "loginForm": username = the user's NameID,
                   password from the config, default "test-password")
  GET  /slo        SAMLRequest (SP-initiated LogoutRequest) -> signed LogoutResponse over Redirect;
                   SAMLResponse (answer to an IdP-initiated LogoutRequest) -> recorded, JSON result.
  POST /slo        the same over the HTTP-POST binding (enveloped signatures, verified against the SP
                   metadata); a LogoutRequest is answered over Redirect, as many IdPs do, and a
                   LogoutResponse with a small "Signed out" page.
  GET  /browser/unsolicited?tid=T   IdP-initiated SSO for a browser: auto-submit form to {acsURL}/T
  GET  /browser/logout?binding=redirect|post   IdP-initiated logout for a browser: 302 to the SP's
                   SLO URL with a signed query, or an auto-submit form with an enveloped-signed
                   LogoutRequest (the IdP's sessions of the user end)
Test control endpoints:
  GET  /health                     "ok"
  POST /control/unsolicited        {"tid", "options"} -> an IdP-initiated Response for {acsURL}/{tid}
  POST /control/logout             {"nameId"?, "sessionIndex"?, "noSessionIndex"?} -> IdP-initiated
                                   LogoutRequest as {"binding", "url", "id"}; the IdP session ends
  GET  /control/sessions           the IdP's sessions [{"nameId", "sessionIndex", "sp", "id"}]
  GET  /control/last               last messages exchanged (decoded XML) and logout results
  POST /control/sp-metadata        replace Tikti's SP metadata (body: XML); rebuilds the server

Redirect signatures of inbound messages are verified here over the RAW received query substrings
`SAMLRequest=...[&RelayState=...]&SigAlg=...` with the certificates of the SP metadata; repeated
parameters and unsigned messages are refused (§16.3 item 4: pysaml2's own check re-encodes the query
and its "signed AuthnRequests" option wants an XML signature, so it is switched off).
"""
import base64
import datetime as _dt
import json
import os
import sys
import time as _time
import traceback
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer
from html import escape as html_escape
from urllib.parse import parse_qs, unquote_plus

import defusedxml.ElementTree as SafeET
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import saml2
import saml2.assertion
import saml2.time_util
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.pack import http_form_post_message
from saml2.s_utils import sid as _pysaml2_sid
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS
from saml2.samlp import STATUS_RESPONDER, STATUS_SUCCESS
from saml2.server import Server

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"

SIG_ALGS = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}
DIGEST_ALGS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
HASH_OF_SIGALG = {
    SIG_ALGS["rsa-sha1"]: hashes.SHA1,
    SIG_ALGS["rsa-sha256"]: hashes.SHA256,
    SIG_ALGS["rsa-sha512"]: hashes.SHA512,
}
# Content encryption: template algorithm URI and xmlsec1 `--session-key` (§16.3 item 2: pysaml2's
# default is Triple-DES; here AES-256-CBC is the default and 3DES only a negative case).
CIPHERS = {
    "aes128-cbc": ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
    "aes256-gcm": ("http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"),
    "tripledes-cbc": ("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "des-192"),
}
KEY_TRANSPORTS = {
    "rsa-oaep-mgf1p": "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "rsa-1_5": "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
}


def log(*args):
    print("[idp]", *args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- keys, SP metadata


def generate_key_pair(directory):
    """A throwaway RSA-2048 key and a self-signed SHA-256 certificate, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pysaml2-test-idp")])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_path = os.path.join(directory, "idp.key")
    cert_path = os.path.join(directory, "idp.crt")
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.chmod(key_path, 0o600)
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class SpInfo:
    """What the IdP needs from Tikti's SP metadata, read independently of pysaml2."""

    def __init__(self, xml_bytes):
        root = SafeET.fromstring(xml_bytes)
        if root.tag != "{%s}EntityDescriptor" % MD:
            raise ValueError("SP metadata root is not md:EntityDescriptor")
        self.entity_id = root.get("entityID")
        sp = root.find("{%s}SPSSODescriptor" % MD)
        if sp is None:
            raise ValueError("SP metadata has no SPSSODescriptor")
        self.signing_certs = []
        for kd in sp.findall("{%s}KeyDescriptor" % MD):
            if kd.get("use") in (None, "signing"):
                for c in kd.iter("{%s}X509Certificate" % DS):
                    der = base64.b64decode("".join(c.text.split()))
                    self.signing_certs.append(x509.load_der_x509_certificate(der))
        self.acs_urls = [
            a.get("Location")
            for a in sp.findall("{%s}AssertionConsumerService" % MD)
            if a.get("Binding") == BINDING_HTTP_POST
        ]
        self.slo_redirect = next(
            (
                s.get("Location")
                for s in sp.findall("{%s}SingleLogoutService" % MD)
                if s.get("Binding") == BINDING_HTTP_REDIRECT
            ),
            None,
        )
        self.slo_post = next(
            (
                s.get("Location")
                for s in sp.findall("{%s}SingleLogoutService" % MD)
                if s.get("Binding") == BINDING_HTTP_POST
            ),
            None,
        )


# ------------------------------------------------------------------------------- redirect binding


class BadRequest(Exception):
    pass


def raw_query_params(raw_query):
    """Name -> raw (still percent-encoded) value; a repeated parameter is refused."""
    params = {}
    if not raw_query:
        return params
    for part in raw_query.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name in params:
            raise BadRequest("repeated parameter %s" % name)
        params[name] = value
    return params


def verify_redirect_signature(params, message_param, certs):
    """Verifies the Redirect-binding signature over the raw received substrings (§16.3 item 4)."""
    if "Signature" not in params or "SigAlg" not in params:
        raise BadRequest("unsigned %s refused" % message_param)
    sigalg = unquote_plus(params["SigAlg"])
    if sigalg not in HASH_OF_SIGALG:
        raise BadRequest("SigAlg not supported: %s" % sigalg)
    signed = "%s=%s" % (message_param, params[message_param])
    if "RelayState" in params:
        signed += "&RelayState=%s" % params["RelayState"]
    signed += "&SigAlg=%s" % params["SigAlg"]
    try:
        signature = base64.b64decode(unquote_plus(params["Signature"]), validate=True)
    except Exception:
        raise BadRequest("Signature is not base64")
    for cert in certs:
        try:
            cert.public_key().verify(
                signature, signed.encode("ascii"), padding.PKCS1v15(), HASH_OF_SIGALG[sigalg]()
            )
            return sigalg
        except InvalidSignature:
            continue
    raise BadRequest("redirect signature does not verify with the SP metadata certificates")


def inflate(value):
    return zlib.decompress(base64.b64decode(value), -15).decode("utf-8")


# ------------------------------------------------------------------------------- response knobs


class Knobs:
    """Per-request options (§16.2 items 5-6), from the `X-Idp-Options` JSON header.

    sign: "both" (default) | "assertion" | "response" | "none"
    encrypt: null | aes128-cbc | aes256-cbc | aes128-gcm | aes256-gcm | tripledes-cbc
             (true = aes256-cbc, the default of §16.2 item 5)
    keyTransport: rsa-oaep-mgf1p (default) | rsa-1_5
    sigAlg: rsa-sha256 (default) | rsa-sha512 | rsa-sha1;  digestAlg: sha256 (default) | sha512 | sha1
    user: {"nameId", "mail", "displayName", "groups"} overriding the configured test user
    audience, destination (also the Recipient), inResponseTo, issuer: overrides
    clockShiftSeconds: every time the IdP writes is shifted by this much
    status: "error" -> a signed Responder error status without an assertion
    loginForm: true -> answer with a username/password form first (POST /sso/login)
    """

    def __init__(self, raw):
        o = json.loads(raw) if raw else {}
        if not isinstance(o, dict):
            raise BadRequest("X-Idp-Options must be a JSON object")
        self.sign = o.get("sign", "both")
        if self.sign not in ("both", "assertion", "response", "none"):
            raise BadRequest("sign: %r" % self.sign)
        enc = o.get("encrypt")
        self.encrypt = "aes256-cbc" if enc is True else (enc or None)
        if self.encrypt is not None and self.encrypt not in CIPHERS:
            raise BadRequest("encrypt: %r" % enc)
        self.key_transport = o.get("keyTransport", "rsa-oaep-mgf1p")
        if self.key_transport not in KEY_TRANSPORTS:
            raise BadRequest("keyTransport: %r" % self.key_transport)
        if o.get("sigAlg", "rsa-sha256") not in SIG_ALGS:
            raise BadRequest("sigAlg: %r" % o.get("sigAlg"))
        if o.get("digestAlg", "sha256") not in DIGEST_ALGS:
            raise BadRequest("digestAlg: %r" % o.get("digestAlg"))
        self.sig_alg = SIG_ALGS[o.get("sigAlg", "rsa-sha256")]
        self.digest_alg = DIGEST_ALGS[o.get("digestAlg", "sha256")]
        self.user = o.get("user")
        self.audience = o.get("audience")
        self.destination = o.get("destination")
        self.in_response_to = o.get("inResponseTo")
        self.issuer = o.get("issuer")
        self.clock_shift = int(o.get("clockShiftSeconds", 0))
        self.status = o.get("status")
        self.login_form = bool(o.get("loginForm", False))


class ShiftedClock:
    """Shifts pysaml2's notion of now (saml2.time_util reads `time` and `datetime` globals)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        if not self.seconds:
            return
        shift = self.seconds
        real_time = _time
        real_datetime = _dt.datetime

        class _Time:
            def __getattr__(self, name):
                return getattr(real_time, name)

            def gmtime(self, secs=None):
                return real_time.gmtime((real_time.time() if secs is None else secs) + shift)

            def time(self):
                return real_time.time() + shift

        class _Datetime(real_datetime):
            @classmethod
            def utcnow(cls):
                return real_datetime.utcnow() + _dt.timedelta(seconds=shift)

        saml2.time_util.time = _Time()
        saml2.time_util.datetime = _Datetime

    def __exit__(self, *exc):
        saml2.time_util.time = _time
        saml2.time_util.datetime = _dt.datetime
        return False


class AudiencePolicy(Policy):
    """The configured policy with another Audience in the Conditions."""

    def __init__(self, base, audience):
        super().__init__(mds=base.metadata_store)
        self._restrictions = base._restrictions
        self.audience = audience

    def conditions(self, sp_entity_id):
        return super().conditions(self.audience)


def login_form_page(key, message):
    note = "<p>%s</p>" % html_escape(message) if message else ""
    return (
        "<!DOCTYPE html><html><head><title>Test IdP login</title></head><body>%s"
        '<form method="post" action="/sso/login">'
        '<input type="hidden" name="key" value="%s"/>'
        '<input type="text" name="username"/><input type="password" name="password"/>'
        '<input type="submit" value="Sign in"/></form></body></html>'
    ) % (note, html_escape(key, quote=True))


# ------------------------------------------------------------------------------- the IdP


class TestIdp:
    def __init__(self, cfg, port):
        self.cfg = cfg
        self.base = "http://127.0.0.1:%d" % port
        self.entity_id = self.base + "/metadata"
        self.sso_url = self.base + "/sso"
        self.slo_url = self.base + "/slo"
        self.key_path, self.cert_path = generate_key_pair(cfg["dir"])
        self.sp_metadata_path = cfg["spMetadataPath"]
        self.user = cfg["user"]
        self.password = cfg.get("password", "test-password")
        self.pending_logins = {}
        self.sessions = []
        self.outstanding_logouts = {}
        self.last = {}
        self.logout_results = []
        self.knobs = Knobs(None)
        self.default_knobs = json.dumps(cfg.get("knobs") or {})
        self.slo_binding = BINDING_HTTP_POST if cfg.get("sloBinding") == "post" else BINDING_HTTP_REDIRECT
        self.session_indexes = []
        self._install_hooks()
        self.build()

    def _install_hooks(self):
        idp = self

        # §16.2 item 8: pysaml2 makes the SessionIndex up inside the AuthnStatement; record it here,
        # since an encrypted assertion does not show it.
        def recording_sid(*args, **kwargs):
            value = _pysaml2_sid(*args, **kwargs)
            idp.session_indexes.append(value)
            return value

        saml2.assertion.sid = recording_sid

    def build(self):
        with open(self.sp_metadata_path, "rb") as f:
            self.sp = SpInfo(f.read())
        conf = {
            "entityid": self.entity_id,
            "description": "Tikti end-to-end test IdP (pysaml2)",
            "service": {
                "idp": {
                    "name": "Tikti test IdP",
                    "endpoints": {
                        "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(self.slo_url, self.slo_binding)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    # Redirect signatures are verified by this program over the raw query (§16.3 item 4).
                    "want_authn_requests_signed": False,
                    "sign_response": True,
                    "sign_assertion": True,
                }
            },
            "key_file": self.key_path,
            "cert_file": self.cert_path,
            "encryption_keypairs": [{"key_file": self.key_path, "cert_file": self.cert_path}],
            "metadata": {"local": [self.sp_metadata_path]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "signing_algorithm": SIG_ALGS["rsa-sha256"],
            "digest_algorithm": DIGEST_ALGS["sha256"],
            "accepted_time_diff": 120,
            "delete_tmpfiles": True,
        }
        config = IdPConfig()
        config.load(conf)
        self.server = Server(config=config)
        self._wrap_encryption()
        self.metadata_xml = create_metadata_string(None, config=config, valid=24 * 7).decode("utf-8")

    def _wrap_encryption(self):
        """pysaml2 always asks xmlsec1 for Triple-DES (§16.3 item 2): use the requested algorithms."""
        sec = self.server.sec
        original = sec.encrypt_assertion
        idp = self

        def encrypt_assertion(statement, enc_key, template, key_type="des-192", node_xpath=None):
            cipher = idp.knobs.encrypt or "aes256-cbc"
            algorithm, session_key = CIPHERS[cipher]
            template.encryption_method.algorithm = algorithm
            encrypted_key = template.key_info.encrypted_key
            for ek in encrypted_key if isinstance(encrypted_key, list) else [encrypted_key]:
                ek.encryption_method.algorithm = KEY_TRANSPORTS[idp.knobs.key_transport]
            return original(statement, enc_key, template, key_type=session_key, node_xpath=node_xpath)

        sec.encrypt_assertion = encrypt_assertion

    # --------------------------------------------------------------------------- SSO

    def authn_response(self, knobs, in_response_to, destination):
        """A Response (XML string) for the test user, shaped by the knobs."""
        user = dict(self.user)
        user.update(knobs.user or {})
        self.knobs = knobs
        with ShiftedClock(knobs.clock_shift):
            if knobs.status == "error":
                return str(
                    self.server.create_error_response(
                        in_response_to,
                        destination,
                        (STATUS_RESPONDER, "test IdP error status"),
                        sign=True,
                        sign_alg=knobs.sig_alg,
                        digest_alg=knobs.digest_alg,
                    )
                ), None
            identity = {}
            if user.get("mail"):
                identity["mail"] = [user["mail"]]
            if user.get("displayName"):
                identity["displayName"] = [user["displayName"]]
            if user.get("groups"):
                identity["groups"] = list(user["groups"])
            kwargs = {}
            if knobs.audience is not None:
                kwargs["release_policy"] = AudiencePolicy(
                    self.server.config.getattr("policy", "idp"), knobs.audience
                )
            self.session_indexes = []
            response = self.server.create_authn_response(
                identity,
                in_response_to,
                destination,
                self.sp.entity_id,
                name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user["nameId"]),
                authn={"class_ref": saml2.saml.AUTHN_PASSWORD_PROTECTED},
                issuer=knobs.issuer,
                sign_response=knobs.sign in ("both", "response"),
                sign_assertion=knobs.sign in ("both", "assertion"),
                encrypt_assertion=knobs.encrypt is not None,
                sign_alg=knobs.sig_alg,
                digest_alg=knobs.digest_alg,
                **kwargs,
            )
        session_index = self.session_indexes[-1] if self.session_indexes else None
        return str(response), {"nameId": user["nameId"], "sessionIndex": session_index}

    def deliver_response(self, xml, url, relay_state, as_json):
        self.last["response"] = xml
        if as_json:
            return 200, "application/json", json.dumps(
                {
                    "binding": "HTTP-POST",
                    "url": url,
                    "SAMLResponse": base64.b64encode(xml.encode("utf-8")).decode("ascii"),
                    "RelayState": relay_state,
                }
            )
        form = http_form_post_message(xml, url, relay_state, "SAMLResponse")
        return 200, "text/html; charset=utf-8", form["data"]

    def sso(self, raw_query, headers):
        params = raw_query_params(raw_query)
        if "SAMLRequest" not in params:
            raise BadRequest("SAMLRequest missing")
        verify_redirect_signature(params, "SAMLRequest", self.sp.signing_certs)
        saml_request = unquote_plus(params["SAMLRequest"])
        relay_state = unquote_plus(params["RelayState"]) if "RelayState" in params else ""
        self.last["authnRequest"] = inflate(saml_request)
        parsed = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
        if parsed is None:
            raise BadRequest("AuthnRequest did not parse")
        request = parsed.message
        if request.issuer is None or request.issuer.text != self.sp.entity_id:
            raise BadRequest("AuthnRequest Issuer is not the SP of the metadata")
        acs = request.assertion_consumer_service_url
        if acs not in self.sp.acs_urls:
            raise BadRequest("ACS URL not in the SP metadata")
        knobs = Knobs(headers.get("X-Idp-Options") or self.default_knobs)
        as_json = "application/json" in (headers.get("Accept") or "")
        if knobs.login_form:
            # §16.2 item 3: the optional username/password step before the Response.
            key = base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")
            self.pending_logins[key] = (request.id, acs, relay_state, knobs)
            return 200, "text/html; charset=utf-8", login_form_page(key, None)
        return self.answer_authn_request(request.id, acs, relay_state, knobs, as_json)

    def answer_authn_request(self, request_id, acs, relay_state, knobs, as_json):
        in_response_to = knobs.in_response_to if knobs.in_response_to is not None else request_id
        destination = knobs.destination or acs
        xml, session = self.authn_response(knobs, in_response_to, destination)
        if session is not None:
            self.sessions.append(
                {
                    "id": len(self.sessions) + 1,
                    "sp": self.sp.entity_id,
                    "nameId": session["nameId"],
                    "sessionIndex": session["sessionIndex"],
                    "requestId": request_id,
                }
            )
        return self.deliver_response(xml, acs, relay_state, as_json)

    def login_submit(self, body, headers):
        """POST /sso/login: the login form's answer; the pending request is single use."""
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        key = (form.get("key") or [""])[0]
        pending = self.pending_logins.pop(key, None)
        if pending is None:
            raise BadRequest("no pending login for this form")
        request_id, acs, relay_state, knobs = pending
        username = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        user = dict(self.user)
        user.update(knobs.user or {})
        if username != user["nameId"] or password != self.password:
            retry = base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")
            self.pending_logins[retry] = pending
            return 401, "text/html; charset=utf-8", login_form_page(retry, "Invalid username or password.")
        as_json = "application/json" in (headers.get("Accept") or "")
        return self.answer_authn_request(request_id, acs, relay_state, knobs, as_json)

    def unsolicited(self, body):
        tid = body["tid"]
        knobs = Knobs(json.dumps(body.get("options") or {}))
        acs = self.sp.acs_urls[0] + "/" + tid
        if acs not in self.sp.acs_urls:
            log("note: %s is not in the SP metadata (tenant without allowUnsolicited?)" % acs)
        destination = knobs.destination or acs
        xml, session = self.authn_response(knobs, knobs.in_response_to, destination)
        if session is not None:
            self.sessions.append(
                {
                    "id": len(self.sessions) + 1,
                    "sp": self.sp.entity_id,
                    "nameId": session["nameId"],
                    "sessionIndex": session["sessionIndex"],
                    "requestId": None,
                }
            )
        return self.deliver_response(xml, acs, body.get("relayState", ""), True)

    # --------------------------------------------------------------------------- SLO

    def redirect_to_sp(self, xml, is_response, relay_state, sigalg, as_json, extra=None):
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT,
            xml,
            destination=self.sp.slo_redirect,
            relay_state=relay_state,
            response=is_response,
            sign=True,
            sigalg=sigalg,
        )
        url = dict(info["headers"])["Location"]
        if as_json:
            doc = {"binding": "HTTP-Redirect", "url": url}
            doc.update(extra or {})
            return 200, "application/json", json.dumps(doc), None
        return 302, "text/plain; charset=utf-8", "", url

    def slo(self, raw_query, headers):
        params = raw_query_params(raw_query)
        as_json = "application/json" in (headers.get("Accept") or "")
        if ("SAMLRequest" in params) == ("SAMLResponse" in params):
            raise BadRequest("exactly one of SAMLRequest and SAMLResponse")
        relay_state = unquote_plus(params["RelayState"]) if "RelayState" in params else ""
        if "SAMLRequest" in params:
            # SP-initiated logout (docs/spec/saml.md §9.2): end the IdP session, answer a signed LogoutResponse.
            sigalg = verify_redirect_signature(params, "SAMLRequest", self.sp.signing_certs)
            saml_request = unquote_plus(params["SAMLRequest"])
            self.last["logoutRequestFromSp"] = inflate(saml_request)
            parsed = self.server.parse_logout_request(saml_request, BINDING_HTTP_REDIRECT)
            if parsed is None:
                raise BadRequest("LogoutRequest did not parse")
            return self._end_sessions_and_answer(parsed.message, relay_state, sigalg, as_json)
        # The SP's answer to an IdP-initiated LogoutRequest (docs/spec/saml.md §9.3 step 6).
        verify_redirect_signature(params, "SAMLResponse", self.sp.signing_certs)
        xml = inflate(unquote_plus(params["SAMLResponse"]))
        self.last["logoutResponseFromSp"] = xml
        result = self._record_logout_response(SafeET.fromstring(xml.encode("utf-8")))
        return 200, "application/json", json.dumps(result), None

    def idp_logout(self, body):
        """IdP-initiated logout (docs/spec/saml.md §9.3): a signed LogoutRequest for Tikti's SLO URL."""
        name_id = body.get("nameId") or self.user["nameId"]
        mine = [s for s in self.sessions if s["nameId"] == name_id]
        if body.get("sessionIndex"):
            indexes = [body["sessionIndex"]]
        elif body.get("noSessionIndex"):
            indexes = []
        else:
            indexes = [s["sessionIndex"] for s in mine if s["sessionIndex"]]
        req_id, request = self.server.create_logout_request(
            destination=self.sp.slo_redirect,
            issuer_entity_id=self.sp.entity_id,
            name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            session_indexes=indexes or None,
            sign=False,
        )
        xml = str(request)
        self.last["logoutRequestToSp"] = xml
        self.outstanding_logouts[req_id] = {"nameId": name_id, "sessionIndexes": indexes}
        self.sessions = [
            s for s in self.sessions if not (s["nameId"] == name_id and (not indexes or s["sessionIndex"] in indexes))
        ]
        status, ctype, body_text, _ = self.redirect_to_sp(
            xml, False, body.get("relayState", ""), SIG_ALGS["rsa-sha256"], True, {"id": req_id}
        )
        return status, ctype, body_text

    # --------------------------------------------------------------------------- HTTP-POST SLO

    def _signed_post_message(self, form, param, check):
        """A POSTed, enveloped-signed message: decoded XML after `check` verified its signature."""
        values = form.get(param) or []
        if len(values) != 1:
            raise BadRequest("exactly one %s" % param)
        xml = base64.b64decode(values[0]).decode("utf-8")
        root = SafeET.fromstring(xml.encode("utf-8"))
        if root.find("{%s}Signature" % DS) is None:
            raise BadRequest("unsigned %s refused" % param)
        # pysaml2 verifies with the certificates of the SP metadata (xmlsec1 underneath).
        if not check(xml, must=True, origdoc=values[0]):
            raise BadRequest("%s signature does not verify" % param)
        return xml, root

    def slo_post(self, body):
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        if ("SAMLRequest" in form) == ("SAMLResponse" in form):
            raise BadRequest("exactly one of SAMLRequest and SAMLResponse")
        relay_state = (form.get("RelayState") or [""])[0]
        if "SAMLRequest" in form:
            # SP-initiated logout over POST: end the IdP session, answer over Redirect (302).
            xml, root = self._signed_post_message(
                form, "SAMLRequest", self.server.sec.correctly_signed_logout_request
            )
            self.last["logoutRequestFromSp"] = xml
            if root.tag != "{%s}LogoutRequest" % SAMLP:
                raise BadRequest("not a LogoutRequest")
            parsed = self.server.parse_logout_request(form["SAMLRequest"][0], BINDING_HTTP_POST)
            if parsed is None:
                raise BadRequest("LogoutRequest did not parse")
            return self._end_sessions_and_answer(parsed.message, relay_state, SIG_ALGS["rsa-sha256"], False)
        # The SP's answer to an IdP-initiated LogoutRequest, over POST.
        xml, root = self._signed_post_message(
            form, "SAMLResponse", self.server.sec.correctly_signed_logout_response
        )
        self.last["logoutResponseFromSp"] = xml
        result = self._record_logout_response(root)
        page = (
            "<!DOCTYPE html><html><head><title>Test IdP</title></head><body>"
            '<h1 id="idp-result">%s</h1></body></html>'
        ) % ("Signed out" if result["success"] else "Logout failed")
        return 200, "text/html; charset=utf-8", page, None

    def _end_sessions_and_answer(self, request, relay_state, sigalg, as_json):
        name_id = request.name_id.text if request.name_id is not None else None
        indexes = [s.text for s in (request.session_index or [])]
        before = len(self.sessions)
        self.sessions = [
            s
            for s in self.sessions
            if not (s["nameId"] == name_id and (not indexes or s["sessionIndex"] in indexes))
        ]
        ended = before - len(self.sessions)
        status = None if ended > 0 else saml2.samlp.Status(
            status_code=saml2.samlp.StatusCode(value=STATUS_RESPONDER)
        )
        response = self.server.create_logout_response(
            request, [BINDING_HTTP_REDIRECT], status=status, sign=False
        )
        xml = str(response)
        self.last["logoutResponseToSp"] = xml
        self.logout_results.append(
            {"direction": "sp", "nameId": name_id, "sessionIndexes": indexes, "ended": ended}
        )
        return self.redirect_to_sp(xml, True, relay_state, sigalg, as_json, {"ended": ended})

    def _record_logout_response(self, root):
        if root.tag != "{%s}LogoutResponse" % SAMLP:
            raise BadRequest("not a LogoutResponse")
        in_response_to = root.get("InResponseTo")
        if in_response_to not in self.outstanding_logouts:
            raise BadRequest("LogoutResponse for an unknown request")
        del self.outstanding_logouts[in_response_to]
        issuer = root.find("{%s}Issuer" % SAML)
        code = root.find("{%s}Status/{%s}StatusCode" % (SAMLP, SAMLP))
        result = {
            "direction": "idp",
            "inResponseTo": in_response_to,
            "issuer": issuer.text if issuer is not None else None,
            "destination": root.get("Destination"),
            "status": code.get("Value") if code is not None else None,
            "success": code is not None and code.get("Value") == STATUS_SUCCESS,
            "signatureVerified": True,
        }
        self.logout_results.append(result)
        return result

    # --------------------------------------------------------------------------- browser entries

    def browser_unsolicited(self, raw_query):
        """IdP-initiated SSO as a browser meets it: an auto-submit form to {acsURL}/{tid}."""
        query = parse_qs(raw_query)
        tid = (query.get("tid") or [""])[0]
        if not tid:
            raise BadRequest("tid missing")
        knobs = Knobs(self.default_knobs)
        acs = self.sp.acs_urls[0] + "/" + tid
        xml, session = self.authn_response(knobs, None, acs)
        if session is not None:
            self.sessions.append(
                {
                    "id": len(self.sessions) + 1,
                    "sp": self.sp.entity_id,
                    "nameId": session["nameId"],
                    "sessionIndex": session["sessionIndex"],
                    "requestId": None,
                }
            )
        status, ctype, body = self.deliver_response(xml, acs, "", False)
        return status, ctype, body, None

    def browser_logout(self, raw_query):
        """IdP-initiated logout as a browser meets it, over the requested binding."""
        query = parse_qs(raw_query)
        binding = (query.get("binding") or ["redirect"])[0]
        name_id = self.user["nameId"]
        indexes = [s["sessionIndex"] for s in self.sessions if s["nameId"] == name_id and s["sessionIndex"]]
        destination = self.sp.slo_post if binding == "post" else self.sp.slo_redirect
        req_id, request = self.server.create_logout_request(
            destination=destination,
            issuer_entity_id=self.sp.entity_id,
            name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            session_indexes=indexes or None,
            sign=binding == "post",
            sign_alg=SIG_ALGS["rsa-sha256"],
            digest_alg=DIGEST_ALGS["sha256"],
        )
        xml = str(request)
        self.last["logoutRequestToSp"] = xml
        self.outstanding_logouts[req_id] = {"nameId": name_id, "sessionIndexes": indexes}
        self.sessions = [s for s in self.sessions if s["nameId"] != name_id]
        if binding == "post":
            form = http_form_post_message(xml, destination, "", "SAMLRequest")
            return 200, "text/html; charset=utf-8", form["data"], None
        return self.redirect_to_sp(xml, False, "", SIG_ALGS["rsa-sha256"], False)

    def replace_sp_metadata(self, xml_bytes):
        SpInfo(xml_bytes)  # refuse garbage before touching the file
        with open(self.sp_metadata_path, "wb") as f:
            f.write(xml_bytes)
        self.build()  # §16.3 item 11: never while logins are in flight


# ------------------------------------------------------------------------------- HTTP


def make_handler(idp):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *args):
            if os.environ.get("TIKTI_IDP_DEBUG"):
                log(fmt % args)

        def send(self, status, ctype, body, location=None):
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def handle_safely(self, fn):
            try:
                fn()
            except BadRequest as e:
                log("400:", e)
                self.send(400, "text/plain; charset=utf-8", "bad request: %s\n" % e)
            except Exception as e:
                log("500:", "".join(traceback.format_exception(type(e), e, e.__traceback__)))
                self.send(500, "text/plain; charset=utf-8", "error: %s: %s\n" % (type(e).__name__, e))

        def do_GET(self):
            path, _, query = self.path.partition("?")

            def run():
                if path == "/health":
                    self.send(200, "text/plain; charset=utf-8", "ok\n")
                elif path == "/metadata":
                    self.send(200, "application/samlmetadata+xml", idp.metadata_xml)
                elif path == "/sso":
                    self.send(*idp.sso(query, self.headers))
                elif path == "/slo":
                    status, ctype, body, location = idp.slo(query, self.headers)
                    self.send(status, ctype, body, location)
                elif path == "/browser/unsolicited":
                    self.send(*idp.browser_unsolicited(query))
                elif path == "/browser/logout":
                    self.send(*idp.browser_logout(query))
                elif path == "/control/sessions":
                    self.send(200, "application/json", json.dumps(idp.sessions))
                elif path == "/control/last":
                    last = dict(idp.last)
                    last["logoutResults"] = idp.logout_results
                    self.send(200, "application/json", json.dumps(last))
                else:
                    self.send(404, "text/plain; charset=utf-8", "not found\n")

            self.handle_safely(run)

        def do_POST(self):
            path = self.path.partition("?")[0]

            def run():
                if path == "/sso/login":
                    self.send(*idp.login_submit(self.body(), self.headers))
                elif path == "/slo":
                    self.send(*idp.slo_post(self.body()))
                elif path == "/control/unsolicited":
                    self.send(*idp.unsolicited(json.loads(self.body() or b"{}")))
                elif path == "/control/logout":
                    self.send(*idp.idp_logout(json.loads(self.body() or b"{}")))
                elif path == "/control/sp-metadata":
                    idp.replace_sp_metadata(self.body())
                    self.send(200, "application/json", json.dumps({"ok": True}))
                else:
                    self.send(404, "text/plain; charset=utf-8", "not found\n")

            self.handle_safely(run)

    return Handler


def main():
    if len(sys.argv) != 2:
        print("usage: idp.py <config.json>", file=sys.stderr)
        return 2
    with open(sys.argv[1], "r", encoding="utf-8") as f:
        cfg = json.load(f)
    httpd = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    idp = TestIdp(cfg, port)
    httpd.RequestHandlerClass = make_handler(idp)
    print(
        json.dumps(
            {
                "ready": True,
                "port": port,
                "base": idp.base,
                "entityId": idp.entity_id,
                "metadataUrl": idp.base + "/metadata",
                "ssoUrl": idp.sso_url,
                "sloUrl": idp.slo_url,
                "pysaml2": getattr(saml2, "__version__", None) or pysaml2_version(),
            }
        ),
        flush=True,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def pysaml2_version():
    try:
        from importlib.metadata import version

        return version("pysaml2")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
