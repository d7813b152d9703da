"""`ion-demo` (`make demo`): a narrated live rollout with an injected canary fault and the
controller's automatic rollback. `cli` is the entry point; the other modules are its parts."""
