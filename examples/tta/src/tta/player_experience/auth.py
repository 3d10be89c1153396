"""Player accounts: password hashing, signed session tokens and lockout after failed logins.

Passwords are stored as ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` so the work factor can
be raised later without invalidating old hashes. Tokens are ``<payload>.<signature>``, where the
payload is URL-safe base64 JSON and the signature an HMAC-SHA256 over it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

#: Default PBKDF2 work factor for new hashes.
ITERATIONS = 100_000
_SCHEME = "pbkdf2_sha256"


class AuthError(Exception):
    """A login or registration was refused."""


class TokenError(AuthError):
    """A session token is malformed, forged or expired."""


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Hash ``password`` with PBKDF2-HMAC-SHA256 and a random (or given) 16-byte salt."""
    if not password:
        raise AuthError("the password must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against an encoded hash in constant time; malformed hashes never match."""
    try:
        scheme, iterations, salt_hex, digest_hex = encoded.split("$")
        rounds = int(iterations)
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return hmac.compare_digest(candidate.hex(), digest_hex)


@dataclass(frozen=True)
class TokenClaims:
    """What a verified session token says."""

    player_id: str
    issued_at: float
    expires_at: float


class TokenSigner:
    """Issue and verify HMAC-signed session tokens with a fixed lifetime."""

    def __init__(
        self, secret: bytes, ttl: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        """Use ``secret`` (at least 16 bytes) to sign tokens valid for ``ttl`` seconds."""
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret
        self.ttl = ttl
        self.clock = clock

    def _sign(self, payload: bytes) -> str:
        """HMAC-SHA256 of ``payload`` as hex."""
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def issue(self, player_id: str) -> str:
        """A new token for ``player_id``."""
        now = self.clock()
        claims = {"sub": player_id, "iat": now, "exp": now + self.ttl}
        payload = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True).encode())
        return f"{payload.decode()}.{self._sign(payload)}"

    def verify(self, token: str) -> TokenClaims:
        """Check the signature and expiry of ``token`` and return its claims."""
        payload, _, signature = token.partition(".")
        if not signature:
            raise TokenError("malformed token")
        if not hmac.compare_digest(self._sign(payload.encode()), signature):
            raise TokenError("bad signature")
        claims = json.loads(base64.urlsafe_b64decode(payload))
        if claims["exp"] <= self.clock():
            raise TokenError("token expired")
        return TokenClaims(claims["sub"], claims["iat"], claims["exp"])


@dataclass
class Account:
    """A stored player account and its lockout state."""

    player_id: str
    password_hash: str
    failed_attempts: int = 0
    locked_until: float = 0.0


class Authenticator:
    """Register players and log them in, locking an account after repeated failures."""

    def __init__(
        self,
        signer: TokenSigner,
        *,
        max_failures: int = 5,
        lockout_seconds: float = 300.0,
        iterations: int = ITERATIONS,
    ) -> None:
        """Lock an account for ``lockout_seconds`` after ``max_failures`` bad passwords in a row."""
        self.signer = signer
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.iterations = iterations
        self._accounts: dict[str, Account] = {}

    def register(self, player_id: str, password: str) -> Account:
        """Create an account; passwords need at least 8 characters."""
        if player_id in self._accounts:
            raise AuthError(f"player {player_id!r} already exists")
        if len(password) < 8:
            raise AuthError("the password must have at least 8 characters")
        account = Account(player_id, hash_password(password, iterations=self.iterations))
        self._accounts[player_id] = account
        return account

    def is_locked(self, player_id: str) -> bool:
        """Whether ``player_id`` is currently locked out."""
        account = self._accounts.get(player_id)
        return account is not None and account.locked_until > self.signer.clock()

    def login(self, player_id: str, password: str) -> str:
        """Check the password and return a session token, counting failures towards a lockout."""
        account = self._accounts.get(player_id)
        if account == None:
            raise AuthError("unknown player or wrong password")
        if self.is_locked(player_id):
            raise AuthError("account locked; try again later")
        if not verify_password(password, account.password_hash):
            account.failed_attempts += 1
            if account.failed_attempts >= self.max_failures:
                account.locked_until = self.signer.clock() + self.lockout_seconds
                account.failed_attempts = 0
            raise AuthError("unknown player or wrong password")
        account.failed_attempts = 0
        return self.signer.issue(player_id)

    def unlock(self, player_id: str) -> None:
        """Lift a lockout early (for example after a support request)."""
        account = self._accounts[player_id]
        account.locked_until = 0.0
        account.failed_attempts = 0
