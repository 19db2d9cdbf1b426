"""WeChat's message encryption, shared by the Official Account's safe mode and WeCom callbacks.

The scheme as WeChat documents it: the 43-character EncodingAESKey plus "=" is the base64 of a
32-byte AES-256 key, whose first 16 bytes are the CBC IV.  A message is 16 random bytes, its length
(4 bytes, network order), the message and the receiver's id (the AppID, or the WeCom CorpID),
padded PKCS#7 to 32 bytes, encrypted and base64-encoded.  ``msg_signature`` is the sha1 of the
sorted token, timestamp, nonce and ciphertext.

During a key change WeChat may still send under the previous key (its own guidance: accept both
for a while), so every key given is tried in turn.  Needs the extra ``channels`` (cryptography).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from collections.abc import Sequence

from ..errors import MissingExtraError

_BLOCK = 32


class CryptoError(ValueError):
    """A message that does not decrypt, or is not for this receiver."""


def _cipher(key: bytes) -> object:
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingExtraError("WeChat safe mode and WeCom", "channels") from exc
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def aes_key(encoding_aes_key: str) -> bytes:
    """The AES key of an EncodingAESKey; raises CryptoError for one that is not 43 characters of base64."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (ValueError, TypeError):
        raise CryptoError("the EncodingAESKey is not base64") from None
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise CryptoError("the EncodingAESKey must be 43 characters (a 32-byte key)")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


class MsgCrypt:
    """Encrypt and decrypt one receiver's messages (``receive_id``: the AppID or the CorpID)."""

    def __init__(self, token: str, encoding_aes_keys: Sequence[str], receive_id: str) -> None:
        if not encoding_aes_keys:
            raise CryptoError("an EncodingAESKey is needed")
        self.token = token
        self.keys = [aes_key(k) for k in encoding_aes_keys if k]
        self.receive_id = receive_id

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        expected = signature(self.token, timestamp, nonce, encrypted).encode("ascii")
        return hmac.compare_digest(expected, msg_signature.encode("utf-8", "replace"))

    def decrypt(self, encrypted: str) -> str:
        """The plaintext of a message, trying the current key first and then the previous ones."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (ValueError, TypeError):
            raise CryptoError("the message is not base64") from None
        if not data or len(data) % 16:
            raise CryptoError("the message is not whole AES blocks")
        for key in self.keys:
            decryptor = _cipher(key).decryptor()  # type: ignore[attr-defined]
            plain = decryptor.update(data) + decryptor.finalize()
            pad = plain[-1]
            if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
                continue
            body = plain[16:-pad]
            if len(body) < 4:
                continue
            (length,) = struct.unpack(">I", body[:4])
            message, receiver = body[4 : 4 + length], body[4 + length :]
            if len(message) != length:
                continue
            if receiver.decode("utf-8", "replace") != self.receive_id:
                raise CryptoError("the message is for another receiver (AppID or CorpID)")
            try:
                return str(message.decode("utf-8"))
            except UnicodeDecodeError:
                raise CryptoError("the message is not UTF-8") from None
        raise CryptoError("the message does not decrypt with the configured EncodingAESKey")

    def encrypt(self, plaintext: str) -> str:
        """The base64 ciphertext of a reply, under the current key."""
        body = plaintext.encode("utf-8")
        raw = os.urandom(16) + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = _BLOCK - len(raw) % _BLOCK
        raw += bytes([pad]) * pad
        encryptor = _cipher(self.keys[0]).encryptor()  # type: ignore[attr-defined]
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode("ascii")

    def envelope(self, plaintext: str, nonce: str, *, now: float | None = None) -> str:
        """The encrypted passive reply WeChat and WeCom expect."""
        timestamp = str(int(time.time() if now is None else now))
        encrypted = self.encrypt(plaintext)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
