"""The judge: anytime-valid sequential tests of the canary against the baseline.

`sequential` (e-process arithmetic), `checks` (one check per metric), `budget` (how
ROLLOUT_ALPHA is split), `counts` (rows to counts, slow crossings), `judge` (the incremental
judge of one stage), `evidence` (verdicts and what they carry), `tracker` (the controller's
incremental reader of the store). docs/judge.md explains the method in plain words.
"""
