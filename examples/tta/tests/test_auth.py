import pytest

from tta.player_experience.auth import (
    AuthError,
    Authenticator,
    TokenError,
    TokenSigner,
    hash_password,
    verify_password,
)

SECRET = b"0123456789abcdef-test-secret"
FAST = 1_000  # PBKDF2 iterations for tests


class FakeClock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_hash_round_trip_and_salting():
    first = hash_password("correct horse", iterations=FAST)
    second = hash_password("correct horse", iterations=FAST)
    assert first != second  # random salt
    assert first.startswith("pbkdf2_sha256$1000$")
    assert verify_password("correct horse", first)
    assert not verify_password("wrong horse", first)


def test_hash_with_fixed_salt_is_deterministic():
    salt = bytes(16)
    assert hash_password("pw", salt=salt, iterations=FAST) == hash_password(
        "pw", salt=salt, iterations=FAST
    )
    with pytest.raises(AuthError):
        hash_password("")


@pytest.mark.parametrize("encoded", ["garbage", "md5$1000$00$00", "pbkdf2_sha256$x$00$00"])
def test_malformed_hashes_never_verify(encoded):
    assert not verify_password("pw", encoded)


def test_token_round_trip_and_expiry():
    clock = FakeClock()
    signer = TokenSigner(SECRET, ttl=60, clock=clock)
    token = signer.issue("ada")
    claims = signer.verify(token)
    assert claims.player_id == "ada"
    assert claims.expires_at == clock.now + 60
    clock.now += 61
    with pytest.raises(TokenError, match="expired"):
        signer.verify(token)


def test_forged_and_malformed_tokens_are_rejected():
    signer = TokenSigner(SECRET)
    token = signer.issue("ada")
    other = TokenSigner(b"another-secret-of-16+bytes")
    with pytest.raises(TokenError, match="bad signature"):
        other.verify(token)
    with pytest.raises(TokenError, match="malformed"):
        signer.verify("no-dot-here")
    with pytest.raises(ValueError):
        TokenSigner(b"short")


def make_auth(clock):
    signer = TokenSigner(SECRET, clock=clock)
    return Authenticator(signer, max_failures=3, lockout_seconds=300, iterations=FAST)


def test_register_and_login():
    clock = FakeClock()
    auth = make_auth(clock)
    auth.register("ada", "lovelace1843")
    token = auth.login("ada", "lovelace1843")
    assert auth.signer.verify(token).player_id == "ada"
    with pytest.raises(AuthError, match="already exists"):
        auth.register("ada", "another-password")
    with pytest.raises(AuthError, match="8 characters"):
        auth.register("bob", "short")
    with pytest.raises(AuthError, match="unknown player"):
        auth.login("nobody", "whatever-password")


def test_lockout_after_repeated_failures_and_unlock():
    clock = FakeClock()
    auth = make_auth(clock)
    auth.register("ada", "lovelace1843")
    for _ in range(3):
        with pytest.raises(AuthError, match="wrong password"):
            auth.login("ada", "guess")
    assert auth.is_locked("ada")
    with pytest.raises(AuthError, match="locked"):
        auth.login("ada", "lovelace1843")
    clock.now += 301
    assert not auth.is_locked("ada")
    auth.login("ada", "lovelace1843")
    auth.unlock("ada")
    assert not auth.is_locked("nobody")
