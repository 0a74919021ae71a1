from dagster import DynamicPartitionsDefinition

# One partition per conversion job, keyed by its jobId (the jobs table's key).
parquet_jobs_partitions = DynamicPartitionsDefinition(name="parquet_jobs")
