"""The benchmark suite: national-scale stores, server-side timings, references, serving memory and browser load.

`make bench` (or `python -m bench`) builds and caches a 1,000,000-case store in SQLite and PostgreSQL through the
real seed/ingest path, measures every scenario warm and cold, and writes bench/results/<timestamp>.json and the
results table in docs/performance.md. Nothing here is imported by the app or run by `make test`.
"""
