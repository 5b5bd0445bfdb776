"""The site's VAPID key pair (RFC 8292): push services accept only pushes signed by the key
a subscription was made with. Generated once into instance/ like the secret key, or given
in VAPID_PRIVATE_KEY (PEM); VAPID_SUBJECT says whom the push services may contact."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from py_vapid import Vapid


def _load_or_create(instance: Path) -> bytes:
    if os.environ.get("VAPID_PRIVATE_KEY"):
        return os.environ["VAPID_PRIVATE_KEY"].encode()
    key_file = instance / "vapid_private_key.pem"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Written whole then renamed: two workers starting at once never read half a key.
        partial = key_file.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pem)
        partial.chmod(0o600)
        if not key_file.exists():
            partial.replace(key_file)
        else:
            partial.unlink()
    return key_file.read_bytes()


def _subject(app: Flask) -> str:
    if app.config.get("VAPID_SUBJECT"):
        return app.config["VAPID_SUBJECT"]
    public = urlsplit(app.config.get("PUBLIC_URL") or "")
    if public.scheme == "https":
        return f"https://{public.netloc}"
    return f"mailto:no-reply@{public.hostname or '1mile.local'}"


def init_app(app: Flask) -> None:
    """Load (or make) the key pair; `push_public_key` is what browsers subscribe with."""
    pem = app.config.get("VAPID_PRIVATE_KEY_PEM") or _load_or_create(Path(app.instance_path))
    key = serialization.load_pem_private_key(pem, password=None)
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    app.extensions["onemile_vapid"] = {
        "vapid": Vapid.from_pem(pem),
        "public_key": base64.urlsafe_b64encode(public).rstrip(b"=").decode(),
        "subject": _subject(app),
    }


def signer() -> Vapid:
    """The Vapid object that signs the JWT of each push."""
    return current_app.extensions["onemile_vapid"]["vapid"]


def public_key() -> str:
    """The application server key (base64url, uncompressed P-256 point) for pushManager.subscribe."""
    return current_app.extensions["onemile_vapid"]["public_key"]


def subject() -> str:
    """The `sub` claim: how the push service reaches the site's operator."""
    return current_app.extensions["onemile_vapid"]["subject"]
