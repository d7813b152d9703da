"""The operators' web dashboard at `/admin/ui`, served by every gateway process.

`routes` (the endpoints), `session` (signed, expiring cookies and their CSRF tokens),
`signin_limit` (failed sign-ins per client, bounded), `series` (the charts' points, pure),
`assets` (the static page, package data, and its security headers). The page itself lives
in `static/`: plain HTML, CSS and JS modules, no build step, no CDN. See docs/dashboard.md.
"""
