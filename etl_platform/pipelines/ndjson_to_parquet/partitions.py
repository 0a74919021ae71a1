from dagster import DynamicPartitionsDefinition

# One partition per manifest id (batch-NNNN-YYYYMMDD-HHMMSS), added by the file-events sensor.
ndjson_manifests_partitions = DynamicPartitionsDefinition(name="ndjson_manifests")
