"""Every setting, read from the environment in one place, with defaults that make `make run` work untouched."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'rasso.sqlite'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8050
    disclosure_threshold: int = 10
    seed_cases: int = 60_000
    seed: int = 2020
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        values = dict(
            database_url=environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            host=environ.get("HOST", "127.0.0.1"),
            port=int(environ.get("PORT", "8050")),
            disclosure_threshold=int(environ.get("DISCLOSURE_THRESHOLD", "10")),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
