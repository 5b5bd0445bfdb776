"""Settings read from the environment, with defaults for the embedded database."""

import os
import secrets
from pathlib import Path

MILE_METRES = 1609.344


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, or one generated once and kept under instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def load(instance_path: str) -> dict:
    """Return the configuration mapping for an app whose instance folder is instance_path."""
    instance = Path(instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'onemile.sqlite'}"
    redis_url = os.environ.get("REDIS_URL")
    # Reverse proxies in front of the app (TLS ends there): their X-Forwarded-* headers are
    # trusted, so that request.is_secure, HSTS, external links and the rate limits' client
    # address are right. Behind HTTPS, cookies are Secure unless said otherwise.
    trusted_proxies = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # One Redis may serve several sites (or test runs): every key this app writes starts so.
    redis_prefix = os.environ.get("REDIS_KEY_PREFIX", "onemile")
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A PWA left open for days must still be able to post: the CSRF token lives as long
        # as the session instead of expiring after an hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "TRUSTED_PROXIES": trusted_proxies,
        "PREFERRED_URL_SCHEME": "https" if trusted_proxies else "http",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", trusted_proxies > 0),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", trusted_proxies > 0),
        # Forms are small; views that take photos raise it per photo (images.accepts_uploads).
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "fr",
        "LANGUAGES": ["fr", "en"],
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
        # Redis down: each worker counts in its own memory until it is back, rather than
        # failing every limited request (login, sign-up, posting) with a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Live updates (onemile/live.py): shared marks in Redis that let every worker answer an
        # idle poll without the database; without REDIS_URL the database answers.
        "REDIS_URL": redis_url,
        # PostgreSQL streaming replicas for read-only pages (onemile/replicas.py): a replica
        # further behind the primary than this many bytes of WAL, or silent, is skipped.
        "DATABASE_REPLICA_URLS": [url.strip() for url in os.environ.get("DATABASE_REPLICA_URLS", "").split(",")
                                  if url.strip()],
        "REPLICA_MAX_LAG_BYTES": int(os.environ.get("REPLICA_MAX_LAG_BYTES", str(16 * 1024 * 1024))),
        "REPLICA_CHECK_SECONDS": float(os.environ.get("REPLICA_CHECK_SECONDS", "1")),
        "LIVE_KEY_PREFIX": f"{redis_prefix}:live",
        "LIVE_TTL": int(os.environ.get("LIVE_TTL", "300")),
        # Static files without their current version in the URL (an image named in a
        # stylesheet, an old link): browsers keep them this long before revalidating (ETag).
        # Versioned URLs (?v=<hash>, onemile/pwa/assets.py) are kept a year, immutable.
        "SEND_FILE_MAX_AGE_DEFAULT": int(os.environ.get("STATIC_MAX_AGE", "86400")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "1Mile <no-reply@1mile.local>"),
        # Without MAIL_SERVER, e-mails are written here instead of sent (development).
        "MAIL_OUTBOX": os.environ.get("MAIL_OUTBOX", str(instance / "outbox")),
        # Who delivers the outbox table (onemile/mail/delivery.py): a thread of the web
        # process ("thread"), or `flask mail worker` ("worker", woken through Redis).
        "MAIL_DELIVERY": os.environ.get("MAIL_DELIVERY", "worker" if redis_url else "thread"),
        "MAIL_WAKE_KEY": f"{redis_prefix}:mail:wake",
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "15")),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "8")),
        # Back-off after a failed attempt n: MAIL_RETRY_SECONDS × 2^(n-1), at most an hour.
        "MAIL_RETRY_SECONDS": float(os.environ.get("MAIL_RETRY_SECONDS", "30")),
        "MAIL_POLL_SECONDS": float(os.environ.get("MAIL_POLL_SECONDS", "5")),
        "MAIL_KEEP_DAYS": int(os.environ.get("MAIL_KEEP_DAYS", "30")),
        # Web Push (onemile/push): who pushes the queue ("thread" or "worker", as MAIL_DELIVERY),
        # whom push services may contact (VAPID `sub`; default from PUBLIC_URL), and the only
        # hosts a subscription may point at (the browsers' push services: the server posts there).
        "PUSH_DELIVERY": os.environ.get("PUSH_DELIVERY", "worker" if redis_url else "thread"),
        "PUSH_WAKE_KEY": f"{redis_prefix}:push:wake",
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT"),
        "PUSH_SERVICE_HOSTS": [h.strip().lower() for h in os.environ.get(
            "PUSH_SERVICE_HOSTS",
            "fcm.googleapis.com,android.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com",
        ).split(",") if h.strip()],
        "PUSH_ALLOW_HTTP": False,
        # The address members use (https://1mile.example): every link in an e-mail is built
        # from it, never from the request's Host header; only its host is served
        # (TRUSTED_HOSTS, a comma-separated list, overrides). Required outside debug/tests;
        # `make run` sets it to the address it serves.
        "PUBLIC_URL": (os.environ.get("PUBLIC_URL") or "").rstrip("/") or None,
        "TRUSTED_HOSTS": [h.strip() for h in os.environ["TRUSTED_HOSTS"].split(",") if h.strip()]
        if os.environ.get("TRUSTED_HOSTS")
        else None,
        # OpenStreetMap data drawn by CARTO (Voyager): its `@2x` tiles ({r}, asked for on
        # screens denser than 1) keep street names sharp on phones, where OpenStreetMap's own
        # 256 px tiles are blown up and blurred.
        "TILE_URL": os.environ.get(
            "TILE_URL", "https://{s}.basemaps.cartocdn.com/rastertiles/voyager/{z}/{x}/{y}{r}.png"
        ),
        "TILE_ATTRIBUTION": os.environ.get(
            "TILE_ATTRIBUTION",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
            ' &copy; <a href="https://carto.com/attributions">CARTO</a>',
        ),
        # Public positions are shifted by a stable offset in this band (metres).
        "PUBLIC_OFFSET_MIN_M": float(os.environ.get("PUBLIC_OFFSET_MIN_M", "150")),
        "PUBLIC_OFFSET_MAX_M": float(os.environ.get("PUBLIC_OFFSET_MAX_M", "300")),
        "LISTING_LIFETIME_DAYS": int(os.environ.get("LISTING_LIFETIME_DAYS", "30")),
        # Alerts for new ads (onemile.alerts): instant alerts a member gets per local day
        # (the next ones wait for the digest); the digest leaves after this local hour; an
        # ad's author is reminded this many days before it expires.
        "ALERT_DAILY_CAP": int(os.environ.get("ALERT_DAILY_CAP", "10")),
        "DIGEST_HOUR": int(os.environ.get("DIGEST_HOUR", "7")),
        "DIGEST_BATCH": int(os.environ.get("DIGEST_BATCH", "100")),
        "EXPIRY_REMINDER_DAYS": int(os.environ.get("EXPIRY_REMINDER_DAYS", "3")),
        # Individual markers per layer in one fragment (~350 bytes each); past it, listings cluster.
        "MAP_MARKER_CAP": int(os.environ.get("MAP_MARKER_CAP", "100")),
        # The page's first view of a mile (a circle 250 to 450 px across) reads well with
        # about this many markers: beyond it, its crowded spots come as groups. The map asks
        # for its whole screen, with MAP_MARKER_CAP, as soon as it moves.
        "MAP_FIRST_VIEW_CAP": int(os.environ.get("MAP_FIRST_VIEW_CAP", "40")),
        # Smiles minted for each new member, and for whoever referred them.
        "SIGNUP_BONUS": int(os.environ.get("SIGNUP_BONUS", "1")),
        "REFERRAL_BONUS": int(os.environ.get("REFERRAL_BONUS", "1")),
        # Mutual credit: how far below zero a member account opened from now on may go.
        "SMILES_CREDIT_LIMIT": int(os.environ.get("SMILES_CREDIT_LIMIT", "5")),
        "PASSWORD_RESET_MAX_AGE": 3600,
        # Login attempts allowed per account from anywhere, and per account from one
        # address (or one device that logged in before): see onemile/auth/throttle.py.
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("LOGIN_ACCOUNT_LIMIT", "10 per 15 minutes; 30 per day"),
        "LOGIN_PAIR_LIMIT": os.environ.get("LOGIN_PAIR_LIMIT", "5 per 5 minutes; 20 per day"),
        # A sign-in link e-mailed on request logs in once, within 15 minutes.
        "SIGN_IN_LINK_MAX_AGE": 15 * 60,
        # A verification link sent at sign-up stays valid three days (a new one can be asked for).
        "EMAIL_VERIFY_MAX_AGE": 3 * 24 * 3600,
        # Uploaded pictures (see onemile.images): where the re-encoded sizes are stored, and
        # what an upload may weigh and measure before it is even decoded.
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", str(instance / "uploads")),
        "IMAGE_MAX_BYTES": int(os.environ.get("IMAGE_MAX_BYTES", str(8 * 1024 * 1024))),
        "IMAGE_MAX_SIDE": int(os.environ.get("IMAGE_MAX_SIDE", "8000")),
        "IMAGE_MAX_PIXELS": int(os.environ.get("IMAGE_MAX_PIXELS", "25000000")),
        # What decoding one photo may hold in memory: a format that needs more per pixel
        # (WebP, progressive JPEG) is allowed fewer pixels. One decode at a time per worker.
        "IMAGE_DECODE_MEMORY": int(os.environ.get("IMAGE_DECODE_MEMORY", str(120 * 1024 * 1024))),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
    }
