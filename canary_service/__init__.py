"""Lumen-Gateway canary (ion-api-canary): the service the gateway sends canary users to.

Same `/`, `/health`, `/chat` contract as the legacy ion-api, answered through the Lumen personas
and a Gemini client, plus `/chat/stream` (SSE) and fault injection for rollback demos.
"""
