"""``assistant serve``: the organizers' dashboard and a WhatsApp-like chat, on the local twin."""

from __future__ import annotations

from assistant.local.web.server import WebApp, serve

__all__ = ["WebApp", "serve"]
