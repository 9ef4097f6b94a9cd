"""Command-line tools: demo data, the RQ worker, docs, assets."""
from __future__ import annotations

import gc

import click
from flask import current_app
from flask.cli import with_appcontext



def register(app) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(permissions_doc_command)
    app.cli.add_command(fetch_assets_command)


@click.command("demo")
@with_appcontext
def demo_command():
    """Create (or refresh) the demo organization and print its login."""
    from webapp.demo import DEMO_EMAIL, DEMO_PASSWORD, build_demo
    org = build_demo()
    click.echo("")
    click.echo(f"  Demo organization: {org.name}")
    click.echo(f"  Log in as:         {DEMO_EMAIL}")
    click.echo(f"  Password:          {DEMO_PASSWORD}")
    click.echo("")


@click.command("worker")
@click.option("--fork/--no-fork", default=False, show_default=True,
              help="Fork a work-horse per job (RQ Worker) or run jobs in this process (SimpleWorker, "
                   "the faster: see docs/pdf.md).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(fork: bool, burst: bool):
    """Run an RQ worker for this app's queue (needs REDIS_URL)."""
    from rq import SimpleWorker, Worker
    from webapp.core.jobs import queue, redis_connection, warm_up_worker
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set; without Redis, jobs run inside the web process.")
    cls = Worker if fork else SimpleWorker
    # Load WeasyPrint, the stylesheets and fonts before the first job: in this
    # process for a SimpleWorker, in the parent for a forking one, whose
    # work-horses then inherit them instead of loading them for every job.
    warm_up_worker()
    # What is loaded now lives as long as the worker: keep it out of the garbage collector's
    # scans (which, in a work-horse, would also copy every inherited page it touches).
    gc.freeze()
    # The app context stays pushed, so job functions (and forked children)
    # use this app rather than building their own.
    w = cls([queue()], connection=redis_connection())
    w.work(burst=burst, with_scheduler=False)


@click.command("permissions-doc")
@click.option("--check", is_flag=True, help="Exit 1 if docs/permissions.md is out of date.")
def permissions_doc_command(check: bool):
    """Write docs/permissions.md from the permission table."""
    from webapp import ROOT
    from webapp.core.permissions import markdown_table
    path = ROOT / "docs" / "permissions.md"
    text = markdown_table()
    if check:
        if not path.exists() or path.read_text() != text:
            raise click.ClickException("docs/permissions.md is out of date; run flask permissions-doc")
        return
    path.write_text(text)
    click.echo(f"wrote {path}")


@click.command("fetch-assets")
def fetch_assets_command():
    """Download the pinned front-end libraries and check their hashes."""
    from webapp.assets import fetch_all
    for line in fetch_all():
        click.echo(line)
