from dagster import DynamicPartitionsDefinition

# One partition per uploaded file, keyed by its name under uploads/ (the table's file_name).
csv_files_partitions = DynamicPartitionsDefinition(name="csv_files")
