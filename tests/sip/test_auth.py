"""Digest authentication against known values."""

from __future__ import annotations

import pytest

from engine.telephony.sip.auth import check_authorization, digest_response, parse_challenge
from engine.telephony.sip.message import SipParseError


def test_rfc2617_example_vector() -> None:
    # RFC 2617 section 3.5, with the method and URI of that example.
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = digest_response(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "nc=00000001" in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_sha256_round_trip_and_wrong_password() -> None:
    challenge = parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-256')
    header = digest_response(challenge, method="INVITE", uri="sip:1@h", username="u", password="p")
    assert check_authorization(header, method="INVITE", username="u", password="p")
    assert not check_authorization(header, method="INVITE", username="u", password="q")


@pytest.mark.parametrize(
    "value",
    ['Basic realm="x"', 'Digest nonce="n"', 'Digest realm="r", nonce="n", algorithm=AKAv1-MD5', 'Digest realm="r'],
)
def test_bad_challenges(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_challenge(value)
