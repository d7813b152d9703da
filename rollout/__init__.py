"""Rollout: persisted stages, the judge, the controller that rolls back by itself, operator API.

Pure core (`plan`, `machine`, `judge/`, `status`, `replay`) apart from the thin I/O shells
(`store/`, `service`, `controller`, `notify`, `admin_api`, `extension`, `cli`, `replay_cli`);
`wiring` builds them. DESIGN.md "Rollout" and "Health policy" are the contract; docs/judge.md
explains the judge.
"""
