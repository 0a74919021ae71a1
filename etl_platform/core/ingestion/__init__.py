"""Pipeline B's pure rules: landing-file validation, status shards, manifest planning,
the circuit breaker. No boto3, no dagster: tested with plain data."""
