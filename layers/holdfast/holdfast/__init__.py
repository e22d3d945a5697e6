"""Holdfast: real-time, channel-aware inventory availability and soft reservation.

The package is deployed as a Lambda layer and shared by every function:

- ``domain``: pure rules (ledger, buffers, plans, timers) — no AWS imports;
- ``models``: pydantic models for the HTTP contract and the entities;
- ``storage``: the only module that knows the DynamoDB table;
- ``services``: the use cases the handlers call;
- ``http``: the shared API Gateway resolver factory and error mapping.
"""
