"""Command line: `python -m dashboard init|seed|ingest|serve`. Every command takes --database-url."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from dashboard.settings import Settings
from queries.db import make_engine
from queries.load import ingest_cases, ingest_returns
from queries.reference import ReferenceError, init_store, load_reference
from queries.status import is_initialised
from queries.validate import LoadError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.database_url)
    engine = make_engine(settings.database_url)
    try:
        return args.func(args, engine, settings)
    except (LoadError, ReferenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except sa.exc.OperationalError as exc:
        print(f"error: cannot reach the store at {engine.url.render_as_string(hide_password=True)}: "
              f"{str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _init(args, engine, settings) -> int:
    counts = init_store(engine, recount=args.recount)
    print("initialised: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


def _seed(args, engine, settings) -> int:
    from sample_data.generate import generate, write_extracts

    init_store(engine)   # also brings a store made by an earlier version up to the current schema
    if args.if_empty:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT COUNT(*) FROM loads")).scalar_one():
                print("store already has data; not seeding")
                return 0
    ref = load_reference(engine)
    cases, returns = generate(ref, args.cases, args.seed, args.first, args.last)
    with tempfile.TemporaryDirectory() as tmp:
        case_path, returns_path = write_extracts(cases, returns, Path(tmp))
        print(ingest_cases(engine, case_path, reference=ref, actor=_actor(), progress=sys.stderr.isatty()))
        print(ingest_returns(engine, returns_path, reference=ref, actor=_actor(), progress=sys.stderr.isatty()))
    return 0


def _ingest(args, engine, settings) -> int:
    if not is_initialised(engine):
        print("error: the store has no schema yet; run `python -m dashboard init` first", file=sys.stderr)
        return 1
    load = ingest_cases if args.kind == "cases" else ingest_returns
    init_store(engine)   # brings an older store's schema up to date (the audit table) before loading
    print(load(engine, Path(args.file), actor=_actor(), progress=sys.stderr.isatty()))
    return 0


def _actor() -> str:
    """Who ran a load, for the audit trail: the operating-system account running the command."""
    import getpass
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "unknown (command line)"


def _users(args, engine, settings) -> int:
    from queries.users import ROLE_NAMES, UserError, add_user, list_users, remove_user

    init_store(engine)   # adds the account tables to a store made by an earlier version
    try:
        if args.action == "add":
            password = None
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            elif not args.no_password:
                import getpass
                if not sys.stdin.isatty():
                    print("error: give --password-stdin or --no-password when not at a terminal", file=sys.stderr)
                    return 1
                password = getpass.getpass("Password: ")
                if password != getpass.getpass("Again: "):
                    print("error: the passwords differ", file=sys.stderr)
                    return 1
            user = add_user(engine, args.username, args.role, args.area or (), password)
            print(f"added {user.username} ({ROLE_NAMES[user.role]})")
        elif args.action == "remove":
            remove_user(engine, args.username)
            print(f"removed {args.username}")
        else:
            for u in list_users(engine):
                print(f"{u.username}\t{u.role}\t{','.join(u.areas)}")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _audit(args, engine, settings) -> int:
    from queries.audit import entries

    for e in reversed(entries(engine, since=args.since, limit=args.limit)):
        print(f"{e.at}\t{e.username}\t{e.action}\t{e.target}\t{json.dumps(e.detail, sort_keys=True)}")
    return 0


def _serve(args, engine, settings) -> int:
    from dashboard import create_app

    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, debug=False)
    return 0


def _parser() -> argparse.ArgumentParser:
    from sample_data.generate import DEFAULT_FIRST, DEFAULT_LAST

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="SQLAlchemy URL of the store (default: $DATABASE_URL or the "
                                                "embedded SQLite file)")
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="RASSO Pilot Monitor")
    sub = parser.add_subparsers(required=True, metavar="command")
    p = sub.add_parser("init", parents=[common], help="create the schema and load the reference data")
    p.add_argument("--recount", action="store_true",
                   help="count the national population counts behind cohort comparisons again from the cases")
    p.set_defaults(func=_init)
    p = sub.add_parser("seed", parents=[common], help="generate synthetic extracts and load them")
    p.add_argument("--cases", type=_positive, default=Settings().seed_cases, help="number of cases")
    p.add_argument("--seed", type=int, default=Settings().seed, help="random seed (same seed, same data)")
    p.add_argument("--first", type=_month, default=DEFAULT_FIRST, help="first referral month (YYYY-MM)")
    p.add_argument("--last", type=_month, default=DEFAULT_LAST, help="last month (YYYY-MM)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the store already has data")
    p.set_defaults(func=_seed)
    p = sub.add_parser("ingest", parents=[common], help="load a case or returns extract (CSV)")
    p.add_argument("kind", choices=["cases", "returns"])
    p.add_argument("file")
    p.set_defaults(func=_ingest)
    p = sub.add_parser("users", parents=[common], help="manage accounts: add, remove, list")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("username", nargs="?", default="")
    p.add_argument("--role", choices=["national", "area_lead", "analyst"], default="national")
    p.add_argument("--area", action="append", help="an Area code an Area lead covers (repeat for several)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--no-password", action="store_true", help="signs in through the identity proxy only")
    p.set_defaults(func=_users)
    p = sub.add_parser("audit", parents=[common], help="list the audit trail")
    p.add_argument("--since", type=_since, help="from this date (YYYY-MM-DD) or time (ISO 8601, UTC)")
    p.add_argument("--limit", type=_positive, default=1000)
    p.set_defaults(func=_audit)
    p = sub.add_parser("serve", parents=[common], help="serve the dashboard (development server)")
    p.set_defaults(func=_serve)
    return parser


def _since(value: str) -> str:
    from datetime import datetime
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date like 2026-11-01 or an ISO 8601 time") from None
    return value


def _month(value: str) -> str:
    from queries.months import is_month
    if not is_month(value):
        raise argparse.ArgumentTypeError("must be a month like 2024-03")
    return value


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


if __name__ == "__main__":
    sys.exit(main())
