"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi run`."""
import gc

from webapp import create_app

app = create_app()

# The app's own objects (modules, models, templates, compiled statements) live as long as the
# process: move them out of the cyclic garbage collector's sight, so a full collection during a
# request that builds many objects (a long report) does not walk them all (docs/performance.md).
gc.freeze()
