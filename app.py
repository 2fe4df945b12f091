"""Entry point: `python app.py` serves the dashboard on 127.0.0.1:8050; `server` is the WSGI app."""
from dashboard import create_app
from dashboard.settings import Settings

app = create_app()
server = app.server

if __name__ == "__main__":
    settings = Settings.from_env()
    app.run(host=settings.host, port=settings.port, debug=False)
