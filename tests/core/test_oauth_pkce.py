"""PKCE S256 as RFC 7636 specifies it."""

from apps.core.oauth import pkce_challenge


def test_it_derives_the_challenge_of_rfc_7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
