"""Entry point for `flask --app app` and WSGI servers."""

from onemile import create_app

app = create_app()
