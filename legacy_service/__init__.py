"""Stand-in for the original ion-api (ION_SPEC §1-5): the legacy side of the canary split.

Pure parts (`resonance`, `personas`, `router`, `recommend`) hold the original behaviour so the
original vectors pass; `app` wires them into a FastAPI service that answers like the original.
"""
