"""Web Push: notifications reach the member's devices, even with no 1Mile page open.

A device turns them on (the page script subscribes through the browser's push service and
posts the subscription here); every notification recorded for the member (any kind of the
registry, onemile.notifications.kinds) is then queued for each of their devices in the
transaction that records it, and pushed after the commit by a delivery job shaped like the
mail outbox's (a thread of the web process, or `flask push worker`): encrypted for the
device (RFC 8291), signed with the site's VAPID key (RFC 8292). A device the push service
no longer knows (404/410) is forgotten. A subscription the browser replaces on its own is
renewed by the service worker, with the old subscription's auth secret as its proof.
"""

from flask import Blueprint

bp = Blueprint("push", __name__, url_prefix="/push")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app: its blueprint, its keys, its delivery and commands,
    and the queueing of every notification recorded."""
    from . import cli, delivery, member_data, queue, vapid

    app.register_blueprint(bp)
    member_data.connect()
    app.jinja_env.globals["push_public_key"] = vapid.public_key
    vapid.init_app(app)
    delivery.init_app(app)
    queue.connect()
    cli.register(app)
