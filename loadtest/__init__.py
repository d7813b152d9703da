"""Load and probe tools for a running stack: Locust scenarios, their summary table, the probe.

Nothing here runs inside a server; these are clients that talk to the gateway or the services.
"""
