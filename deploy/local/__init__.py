"""Running the whole stack on this machine (`ion-run`, `make run`): the supervisor, the stack's
processes and ports. Shares nothing with the Cloud Run code in the rest of `deploy/`."""
