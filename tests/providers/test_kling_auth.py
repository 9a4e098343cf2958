from __future__ import annotations

import jwt
import pytest

from adapter.providers.kling.auth import KlingTokenSigner

AK = "ak-test-0123456789"
SK = "sk-official-test-secret-0123456789abcdef"
T0 = 1_774_805_076


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(
        token, SK, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )


def test_token_header_is_hs256_jwt() -> None:
    """The header is exactly {"alg": "HS256", "typ": "JWT"}."""
    token = KlingTokenSigner(AK, SK, clock=Clock(T0)).token()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_token_claims_are_only_iss_exp_nbf() -> None:
    """The claims are iss = access key, exp = now + 1800, nbf = now - 5, and no iat."""
    token = KlingTokenSigner(AK, SK, clock=Clock(T0 + 0.9)).token()
    assert _claims(token) == {"iss": AK, "exp": T0 + 1800, "nbf": T0 - 5}


def test_token_verifies_with_the_secret_at_signing_time() -> None:
    """A token signed now passes pyjwt's own exp/nbf checks against the real clock."""
    import time

    token = KlingTokenSigner(AK, SK, clock=time.time).token()
    assert jwt.decode(token, SK, algorithms=["HS256"])["iss"] == AK
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SK + "x", algorithms=["HS256"])


def test_token_is_reused_until_five_minutes_before_expiry() -> None:
    """The cached token is returned until 300 s before exp, then a new one is signed."""
    clock = Clock(T0)
    signer = KlingTokenSigner(AK, SK, clock=clock)
    first = signer.token()
    clock.now = T0 + 1800 - 301
    assert signer.token() == first
    clock.now = T0 + 1800 - 300
    renewed = signer.token()
    assert renewed != first
    assert _claims(renewed)["exp"] == T0 + 1800 - 300 + 1800


def test_signer_needs_both_keys() -> None:
    """An empty access or secret key fails at construction, naming the variables."""
    with pytest.raises(ValueError, match="KLING_ACCESS_KEY and KLING_SECRET_KEY"):
        KlingTokenSigner(AK, "")


def test_signer_repr_hides_the_secret() -> None:
    """repr() shows neither the secret key nor the whole access key."""
    text = repr(KlingTokenSigner(AK, SK))
    assert SK not in text
    assert AK not in text


def test_short_secret_keys_sign_without_warnings() -> None:
    """A secret under pyjwt's recommended 32 bytes (Kling's choice, not ours) signs quietly."""
    token = KlingTokenSigner(AK, "sim-sk", clock=Clock(T0)).token()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
