from dagster import DynamicPartitionsDefinition

# One partition per uploaded file, keyed by its name under uploads/ (the table's file_name);
# pruned after a retention (pruning.py).
csv_files_partitions = DynamicPartitionsDefinition(name="csv_files")
