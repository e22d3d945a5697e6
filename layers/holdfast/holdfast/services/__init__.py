"""Use cases: what a handler calls. Each takes its collaborators as constructor parameters."""
