"""How secrets are stored: passwords hashed with Argon2id (with the password policy), random
tokens as their SHA-256 digest (32 random bytes need no slow hash)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"]
    )


def token_digest(token: str) -> str:
    """What is stored of a random token (session, activation or reset link): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; an account without a hash still costs one verification."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    # Verifying against a real hash keeps unknown emails as slow as wrong passwords.
    cache = current_app.extensions.setdefault("rolegate_dummy_hash", {})
    key = (current_app.config["ARGON2_TIME_COST"], current_app.config["ARGON2_MEMORY_COST"])
    if key not in cache:
        cache[key] = _hasher().hash("not-a-password-anyone-uses")
    return cache[key]


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Every reason the password is too weak, as plain sentences; empty when it is fine."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if len(set(password)) < 5:
        problems.append("Use more different characters.")
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) > 2:
        problems.append("Do not use your email address in your password.")
    return problems
