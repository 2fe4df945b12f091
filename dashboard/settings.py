"""Every setting, read from the environment in one place, with defaults that make `make run` work untouched.

Secrets (SECRET_KEY, database passwords in DATABASE_URL) come only from the environment, never from git.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'rasso.sqlite'}"
AUTH_MODES = ("open", "accounts", "proxy")
OPEN_ON_NETWORK = "OPEN_MODE_ON_NETWORK"     # set to "allow" to serve open mode beyond loopback (not advised)


class SettingsError(ValueError):
    """Settings that must not be used together; the message names the setting to change."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    database_read_url: str | None = None    # a replica for pages and exports; audit and sign-in use DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8050
    disclosure_threshold: int = 10
    seed_cases: int = 60_000
    seed: int = 2020
    auth_mode: str = "open"
    secret_key: str | None = None
    proxy_user_header: str = "X-Forwarded-User"
    trusted_proxies: tuple[str, ...] = ()
    open_on_network: bool = False
    cookie_secure: bool = True
    cache_type: str | None = None           # filesystem, redis or null (off); None: redis when a URL is set
    cache_dir: str | None = None            # None: a temporary directory of this app's own
    cache_redis_url: str | None = None      # shared by every worker and host, e.g. redis://cache.example.org:6379/0
    cache_timeout: int = 3600               # seconds an entry lives; a finished load changes every key anyway
    cache_key_prefix: str | None = None     # None: derived from DATABASE_URL, so two stores never share entries

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        values = dict(
            database_url=environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            database_read_url=environ.get("DATABASE_READ_URL") or None,
            host=environ.get("HOST", "127.0.0.1"),
            port=int(environ.get("PORT", "8050")),
            disclosure_threshold=int(environ.get("DISCLOSURE_THRESHOLD", "10")),
            auth_mode=environ.get("AUTH_MODE", "open"),
            secret_key=environ.get("SECRET_KEY") or None,
            proxy_user_header=environ.get("PROXY_USER_HEADER", "X-Forwarded-User"),
            trusted_proxies=tuple(p.strip() for p in environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
            open_on_network=environ.get(OPEN_ON_NETWORK, "") == "allow",
            cookie_secure=environ.get("COOKIE_SECURE", "1") != "0",
            cache_type=environ.get("CACHE_TYPE") or None,
            cache_dir=environ.get("CACHE_DIR") or str(ROOT / "var" / "cache"),
            cache_redis_url=environ.get("CACHE_REDIS_URL") or None,
            cache_timeout=int(environ.get("CACHE_TIMEOUT", "3600")),
            cache_key_prefix=environ.get("CACHE_KEY_PREFIX") or None,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> Settings:
        """Refuse unsafe combinations before serving anything."""
        from queries.disclosure import check_threshold

        try:
            check_threshold(self.disclosure_threshold)
        except ValueError as exc:
            raise SettingsError(f"DISCLOSURE_THRESHOLD: {exc}") from None
        if self.auth_mode not in AUTH_MODES:
            raise SettingsError(f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {self.auth_mode!r}")
        if self.auth_mode == "open" and not self.is_loopback and not self.open_on_network:
            raise SettingsError(f"open mode (no sign-in) serves only on a loopback address, not HOST={self.host}; "
                                f"set AUTH_MODE=accounts or proxy (or {OPEN_ON_NETWORK}=allow, not advised)")
        if self.auth_mode != "open" and not self.secret_key:
            raise SettingsError("SECRET_KEY must be set (from the environment) when AUTH_MODE is not open")
        if self.auth_mode == "proxy":
            if not self.trusted_proxies:
                raise SettingsError("TRUSTED_PROXIES must list the identity proxy's addresses in proxy mode")
            for p in self.trusted_proxies:
                try:
                    ipaddress.ip_network(p, strict=False)
                except ValueError:
                    raise SettingsError(f"TRUSTED_PROXIES: {p!r} is not an address or network") from None
        return self
