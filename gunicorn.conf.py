"""gunicorn settings for production (`make serve`; docs/deployment.md). Every value can be changed by environment.

Workers: processes, for CPU (2 x cores + 1, capped). Threads: each worker serves a few requests at once while
others wait on the database. The app is imported in each worker after the fork (preload_app off), so every worker
creates its own SQLAlchemy engine and pool: no database connection is ever shared between processes.
"""
import multiprocessing
import os

MAX_WORKERS = 12          # beyond this, add hosts: memory (~300 MB a worker) and database connections add up


def worker_count(cores: int, environ=os.environ) -> int:
    if environ.get("WEB_CONCURRENCY"):
        return max(1, int(environ["WEB_CONCURRENCY"]))
    return max(2, min(2 * cores + 1, MAX_WORKERS))


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = worker_count(multiprocessing.cpu_count())
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
preload_app = False       # engines are created after the fork, in each worker
wsgi_app = "app:server"

# Timeouts: the longest request is a national Excel export (a few seconds); a worker silent for longer than
# `timeout` is restarted. Keep-alive above the load balancer's idle timeout avoids resets on reused connections.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after this many requests (jittered so they do not all restart together): memory stays flat.
max_requests = 2000
max_requests_jitter = 200

# Access log to stdout for the platform's log collector: client, user, request line, status, size, time in ms.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s "%({x-forwarded-user}i)s" %(t)s "%(r)s" %(s)s %(B)s %(M)sms'

# X-Forwarded-Proto (so HSTS is sent) is believed only from the proxies the app already trusts.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES") or os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The runtime control socket has one fixed path per user: two servers on one host would fight over it.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None   # worker heartbeats off the disk
