"""The HTTP side: the gateway's ASGI app (``create_app``) and its parts."""
