"""The REST API, version 1: /api/v1/ (see base.py for what every endpoint shares)."""
