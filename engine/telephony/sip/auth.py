"""HTTP digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616 / RFC 8760): answering a trunk's
challenges (``digest_response``), and challenging callers ourselves (``DigestVerifier``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import Enum

from engine.telephony.sip.message import SipParseError


@dataclass(frozen=True)
class DigestChallenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False


def _skip(text: str, i: int, chars: str) -> int:
    """The index of the first character at or after ``i`` that is not in ``chars``."""
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _scan_to(text: str, i: int, stops: str) -> int:
    """The index of the first character at or after ``i`` that is in ``stops`` (or the end)."""
    while i < len(text) and text[i] not in stops:
        i += 1
    return i


def _quoted_value(text: str, i: int) -> tuple[str, int]:
    """The quoted string whose opening quote is at ``i``, unescaped, and the index after its closing quote."""
    n = len(text)
    i += 1
    value_chars: list[str] = []
    while i < n and text[i] != '"':
        if text[i] == "\\" and i + 1 < n:
            i += 1
        value_chars.append(text[i])
        i += 1
    if i >= n:
        raise SipParseError("unterminated quoted string in challenge")
    return "".join(value_chars), i + 1


def _param_value(text: str, i: int) -> tuple[str, int]:
    """The value starting at ``i`` (quoted, or a token up to the next comma) and the index after it."""
    if i < len(text) and text[i] == '"':
        return _quoted_value(text, i)
    end = _scan_to(text, i, ",")
    return text[i:end].strip(), end


def _parse_auth_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        start = _skip(text, i, " ,\t")
        i = _scan_to(text, start, "=, \t")
        key = text[start:i].strip().lower()
        i = _skip(text, i, " \t")
        if i >= n or text[i] != "=":
            if key:
                params[key] = ""
            continue
        value, i = _param_value(text, _skip(text, i + 1, " \t"))
        params[key] = value
    return params


def parse_challenge(header: str) -> DigestChallenge:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError(f"unsupported authentication scheme {scheme[:20]!r}")
    params = _parse_auth_params(rest)
    if "realm" not in params or "nonce" not in params:
        raise SipParseError("digest challenge without realm or nonce")
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in ("MD5", "SHA-256"):
        raise SipParseError(f"unsupported digest algorithm {algorithm[:20]!r}")
    qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
    return DigestChallenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=algorithm,
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def _h(algorithm: str, text: str) -> str:
    fn = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
    return fn(text.encode("utf-8")).hexdigest()


def digest_response(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The value of an Authorization / Proxy-Authorization header answering ``challenge``."""
    ha1 = _h(challenge.algorithm, f"{username}:{challenge.realm}:{password}")
    ha2 = _h(challenge.algorithm, f"{method}:{uri}")
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
    ]
    if "auth" in challenge.qop:
        cnonce = cnonce or secrets.token_hex(8)
        nc_text = f"{nc:08x}"
        response = _h(challenge.algorithm, f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:auth:{ha2}")
        parts += [f'response="{response}"', "qop=auth", f"nc={nc_text}", f'cnonce="{cnonce}"']
    else:
        response = _h(challenge.algorithm, f"{ha1}:{challenge.nonce}:{ha2}")
        parts.append(f'response="{response}"')
    parts.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)


def check_authorization(header: str, *, method: str, username: str, password: str) -> bool:
    """Server side of the same computation (used by tests acting as a trunk)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return False
    p = _parse_auth_params(rest)
    algorithm = p.get("algorithm", "MD5").upper()
    ha1 = _h(algorithm, f"{p.get('username', '')}:{p.get('realm', '')}:{password}")
    ha2 = _h(algorithm, f"{method}:{p.get('uri', '')}")
    if p.get("qop") == "auth":
        expected = _h(algorithm, f"{ha1}:{p.get('nonce', '')}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
    else:
        expected = _h(algorithm, f"{ha1}:{p.get('nonce', '')}:{ha2}")
    return p.get("username") == username and secrets.compare_digest(expected, p.get("response", ""))


class Verdict(Enum):
    OK = "ok"
    MISSING = "missing"  # no credentials yet: challenge
    STALE = "stale"  # right credentials on a nonce of ours that expired: challenge again with stale=true
    BAD = "bad"  # wrong user, password, realm, URI or nonce, or a replay: refuse


@dataclass
class DigestVerifier:
    """The UAS side: challenges with a nonce only we can mint (an HMAC of its time under a per-process key, so no
    state per challenge), and accepts a response only once (``qop=auth`` with a new nonce count)."""

    username: str
    password: str = field(repr=False)
    realm: str = "closerr"
    nonce_ttl_s: float = 300.0
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _seen: dict[tuple[str, str, str], float] = field(default_factory=dict, repr=False)

    def challenge(self, now: float, *, stale: bool = False) -> str:
        stamp = str(int(now * 1000))  # milliseconds of the endpoint's clock
        nonce = f"{stamp}.{self._mac(stamp)}"
        flag = ", stale=true" if stale else ""
        return f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"{flag}'

    def verify(self, header: str | None, *, method: str, uri: str, now: float) -> Verdict:
        if not header:
            return Verdict.MISSING
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "digest":
            return Verdict.BAD
        p = _parse_auth_params(rest)
        nonce = p.get("nonce", "")
        stamp, _, mac = nonce.partition(".")
        if not stamp.isdigit():
            return Verdict.BAD
        issued = int(stamp) / 1000
        fields_ok = (
            hmac.compare_digest(mac, self._mac(stamp))
            and p.get("realm") == self.realm
            and p.get("uri") == uri
            and p.get("qop") == "auth"
            and p.get("algorithm", "MD5").upper() == "MD5"
            and bool(p.get("cnonce"))
            and bool(p.get("nc"))
        )
        if not fields_ok:
            return Verdict.BAD
        ha1 = _h("MD5", f"{p.get('username', '')}:{self.realm}:{self.password}")
        ha2 = _h("MD5", f"{method}:{uri}")
        expected = _h("MD5", f"{ha1}:{nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        user_ok = hmac.compare_digest(p.get("username", "").encode(), self.username.encode())
        if not (user_ok and hmac.compare_digest(expected, p.get("response", ""))):
            return Verdict.BAD
        if now - issued > self.nonce_ttl_s:
            return Verdict.STALE
        self._forget_expired(now)
        use = (nonce, p["cnonce"], p["nc"])
        if use in self._seen:
            return Verdict.BAD  # the same response again: a replay
        self._seen[use] = issued + self.nonce_ttl_s
        return Verdict.OK

    def _mac(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def _forget_expired(self, now: float) -> None:
        for use, until in list(self._seen.items()):
            if until < now:
                del self._seen[use]
