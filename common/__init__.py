"""Code every service shares: logging setup, security headers, bearer-token checks, settings base.

Nothing else belongs here (DESIGN.md, "Top level").
"""
