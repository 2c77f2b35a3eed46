"""The audit trail as a hash chain, and the pseudonymisation key's fingerprint.

Each audit entry stores ``chain = SHA-256(previous chain || canonical JSON of [at, actor,
event, wave, pupil_commit, detail])``; the head of the chain is kept in ``archive_meta`` and
read with a row lock when an entry is added, so two writers cannot fork it. An entry edited,
inserted or removed in the database (anywhere but at the very end) no longer matches, and
:func:`verify_chain` names the first entry where the chain breaks. Removing entries at the
end is detected only against a head recorded elsewhere: ``xinli-screen archive verify``
prints the head so that it can be noted down (e.g. in the wave's paper file).

The pupil is bound to an entry by ``pupil_commit = HMAC-SHA256(salt, pupil_key)`` with a
random per-entry salt, not by the key itself: erasing a pupil (right to erasure) removes the
key and the salt, the commitment stays, and the chain stays whole, while nobody can link the
erased entries to an id any more. While the key and salt are present, verification also checks
that the entry still belongs to the same pupil.

The key fingerprint ``HMAC-SHA256(key, "xinli-screen key fingerprint v1")`` (first 32 hex
digits) identifies the HMAC key a pseudonymised archive was written with, without revealing
it: a different key would split every pupil's file in two, so it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GENESIS", "AuditVerification", "canonical_detail", "chain_hash", "commit_pupil",
           "key_fingerprint", "verify_chain"]

#: The chain value before the first entry.
GENESIS = "0" * 64


def key_fingerprint(key: bytes) -> str:
    """Fingerprint of a pseudonymisation key (32 hex digits; does not reveal the key)."""
    return hmac.new(key, b"xinli-screen key fingerprint v1", hashlib.sha256).hexdigest()[:32]


def commit_pupil(pupil_key: str | None) -> tuple[str | None, str | None]:
    """A salted commitment to ``pupil_key``: (commitment, salt); (None, None) for none."""
    if pupil_key is None:
        return None, None
    salt = secrets.token_hex(16)
    return _commit(pupil_key, salt), salt


def _commit(pupil_key: str, salt: str) -> str:
    return hmac.new(salt.encode("ascii"), str(pupil_key).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def canonical_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as the database will give it back (JSON types only)."""
    out: dict[str, Any] = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    return out


def chain_hash(prev: str, *, at: str, actor: str, event: str, wave: str | None,
               pupil_commit: str | None, detail: dict[str, Any]) -> str:
    """SHA-256 (hex) of the previous chain value and one entry's content."""
    body = json.dumps([at, actor, event, wave, pupil_commit, detail], ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


@dataclass
class AuditVerification:
    """Result of :func:`verify_chain`.

    Attributes
    ----------
    entries : int
        Audit entries read.
    before_chain : int
        Entries written before the chain existed (archive revision < 0004): not covered.
    verified : int
        Entries whose chain value matched.
    head : str
        The last chain value (note it down to detect removal of entries at the end).
    stored_head : str or None
        The head recorded in ``archive_meta``.
    problems : list of str
        One line per break (entry number and what does not match); empty when intact.
    """

    entries: int = 0
    before_chain: int = 0
    verified: int = 0
    head: str = GENESIS
    stored_head: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every chained entry matched and the stored head is the last one."""
        return not self.problems


def verify_chain(rows: Iterable[Any], stored_head: str | None) -> AuditVerification:
    """Check the audit chain.

    Parameters
    ----------
    rows : iterable of AuditEvent
        Every audit entry in id order.
    stored_head : str or None
        The head recorded in ``archive_meta``.

    Returns
    -------
    AuditVerification
        Problems name the entry's number (``audit.id``), never a pupil.
    """
    out = AuditVerification(stored_head=stored_head)
    prev = GENESIS
    started = False
    for row in rows:
        out.entries += 1
        if row.chain is None:
            if started:
                out.problems.append(f"entry {row.id}: no chain value after the chain began "
                                    "(inserted without the store?)")
            else:
                out.before_chain += 1
            continue
        started = True
        expect = chain_hash(prev, at=row.at, actor=row.actor, event=row.event, wave=row.wave,
                            pupil_commit=row.pupil_commit, detail=row.detail or {})
        if expect != row.chain:
            out.problems.append(f"entry {row.id}: content or order does not match the chain "
                                "(edited, inserted or an earlier entry removed)")
        else:
            out.verified += 1
        if row.pupil_key is not None and row.pupil_salt is not None and \
                _commit(row.pupil_key, row.pupil_salt) != row.pupil_commit:
            out.problems.append(f"entry {row.id}: the pupil was changed")
        if row.pupil_key is not None and row.pupil_commit is None:
            out.problems.append(f"entry {row.id}: a pupil was added to an entry without one")
        prev = row.chain
    out.head = prev
    if started and stored_head is not None and stored_head != prev:
        out.problems.append("the last entry is not the recorded head of the chain (entries "
                            "removed at the end, or the head edited)")
    return out
