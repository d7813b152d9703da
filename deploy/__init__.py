"""Shipping ion-canary to Google Cloud Run: images, `ion-deploy`, monitoring as code.

`spec` (desired state) and `plan` (the diff) are pure; `cloudrun` is the thin shell around the
`google-cloud-run` client; `cli` wires them to argparse. `deploy.local` runs the stack on this
machine instead (`ion-run`).
"""
