"""The app with Dash's eager loading: plotly.js is fetched with the page's other scripts instead of after the first
chart's data. A prototype the benchmark serves beside `python app.py` to measure cold page loads; not for use."""
from app import app
from dashboard.settings import Settings

app.scripts.config.eager_loading = True

if __name__ == "__main__":
    settings = Settings.from_env()
    app.run(host=settings.host, port=settings.port, debug=False)
