"""Networking plumbing with no feature knowledge: the local HTTP/1.1 server behind
``/metrics``, ``/health`` and the OTLP receiver (:mod:`.http_server`), and URL helpers
(:mod:`.urls`). Importing the package imports neither module.
"""
