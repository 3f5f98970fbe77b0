"""Password hashes: Argon2id (argon2-cffi), with OWASP's parameters.

OWASP's Password Storage Cheat Sheet asks for Argon2id with at least 19 MiB of
memory, 2 iterations and 1 degree of parallelism: about 40 ms on one core,
and 19 MiB per login in progress, so a small server with several workers
copes. A hash made with other parameters is verified as it is (the hash says
its parameters) and replaced at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (never raises for a wrong one)."""
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    try:
        return HASHER.check_needs_rehash(hashed)
    except InvalidHashError:
        return True


#: The hash of a random password that was thrown away. It is verified when a
#: name is unknown, so that a login costs the same time whether or not the name
#: exists; the answer is a refusal whatever the verification says.
DECOY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$IFltLqzbBl24XxtG9qmfqw"
    "$qif1x5ZFFAXACR4JwNCUzAoXcZu3TeGpqPd6HyidmFs"
)


def burn(password: str) -> None:
    """Spend the time of one verification."""
    verify(DECOY_HASH, password)
