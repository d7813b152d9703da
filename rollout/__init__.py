"""Rollout: persisted stages, health policy, the controller that rolls back by itself, operator API.

Pure core (`plan`, `machine`, `policy`, `status`) apart from the thin I/O shells (`store/`,
`service`, `controller`, `notify`, `admin_api`, `extension`, `cli`); `wiring` builds them.
DESIGN.md "Rollout" and "Health policy" are the contract.
"""
