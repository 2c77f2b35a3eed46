"""Pseudonymised pupil ids: keyed HMAC-SHA256, with the key kept apart from the data.

The key comes from an environment variable (default ``XINLI_HMAC_KEY``) or a file; it is never
written to an archive, a report or a log. The same id and key always give the same pseudonym,
so waves pseudonymised with one key can be linked; without the key a pseudonym cannot be
turned back into an id (nor checked against a guessed list of ids).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.errors import XinliScreenError

__all__ = ["KEY_ENV", "MAX_KEY_FILE_BYTES", "PSEUDONYM_PREFIX", "KeyFileTooLargeError",
           "PrivacyKeyError", "load_key", "pseudonymise", "pseudonymise_one"]

#: Environment variable holding the pseudonymisation key.
KEY_ENV = "XINLI_HMAC_KEY"
#: Prefix of every pseudonym, so that it is never mistaken for a school id.
PSEUDONYM_PREFIX = "p_"
_MIN_KEY_BYTES = 16
#: Largest key file read (bytes); a key is 16 to a few hundred bytes. A bigger file is refused
#: without being read whole (issue 15: a 70 MB "key" ran out of memory).
MAX_KEY_FILE_BYTES = 4096


class PrivacyKeyError(XinliScreenError):
    """No usable pseudonymisation key (absent, empty or too short)."""


class KeyFileTooLargeError(PrivacyKeyError):
    """The key file is larger than :data:`MAX_KEY_FILE_BYTES` (exit code 3 on the CLI)."""


def load_key(path: str | Path | None = None, env: str = KEY_ENV) -> bytes:
    """The pseudonymisation key, from a file or else an environment variable.

    Parameters
    ----------
    path : str or Path, optional
        A file whose content (surrounding whitespace stripped) is the key.
    env : str
        Environment variable read when ``path`` is None.

    Returns
    -------
    bytes
        The key, at least 16 bytes.

    Raises
    ------
    PrivacyKeyError
        Neither source gives a key of at least 16 bytes (the key itself is never shown).
    KeyFileTooLargeError
        (a PrivacyKeyError) The key file is larger than :data:`MAX_KEY_FILE_BYTES`; at most
        that many bytes (plus one) are read.
    """
    if path is not None:
        try:
            with Path(path).open("rb") as fh:
                key = fh.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise PrivacyKeyError(f"cannot read the key file {str(path)!r}: "
                                  f"{exc.strerror}") from None
        if len(key) > MAX_KEY_FILE_BYTES:
            raise KeyFileTooLargeError(
                f"the key file {str(path)!r} is larger than {MAX_KEY_FILE_BYTES:,} bytes; a "
                "key is one line of 16 to a few hundred bytes: is it the right file? (see "
                "docs/errors.md#key-file)")
        key = key.strip()
        where = f"key file {str(path)!r}"
    else:
        key = os.environ.get(env, "").strip().encode("utf-8")
        where = f"environment variable {env}"
    if len(key) < _MIN_KEY_BYTES:
        raise PrivacyKeyError(f"no pseudonymisation key of at least {_MIN_KEY_BYTES} bytes in "
                              f"the {where}; create one, e.g. `python -c \"import secrets; "
                              "print(secrets.token_hex(32))\"`, and keep it away from the data")
    return key


def pseudonymise_one(pupil_id: str, key: bytes) -> str:
    """The pseudonym of one id: ``p_`` + the first 32 hex digits of HMAC-SHA256(key, id)."""
    digest = hmac.new(key, str(pupil_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Pseudonyms of a column of ids.

    Parameters
    ----------
    ids : Series of str, shape (n,)
        Pupil ids as text; missing values stay missing.
    key : bytes
        From :func:`load_key`.

    Returns
    -------
    Series of object, shape (n,)
        Same index; each distinct id is hashed once.
    """
    values = ids.astype(object)
    present = values.notna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    distinct = pd.unique(values[present])
    mapping = {v: pseudonymise_one(str(v), key) for v in distinct}
    out[present] = values[present].map(mapping).to_numpy(dtype=object)
    return pd.Series(out, index=ids.index, name=ids.name, dtype=object)
