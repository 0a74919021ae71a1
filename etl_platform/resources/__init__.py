"""Dagster resources: the only code that talks to AWS at run time."""

from __future__ import annotations

from typing import Any

from etl_platform.config import Settings
from etl_platform.resources.connection import AwsConnection, PlatformS3Resource
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform.resources.glue import GlueJobRunner
from etl_platform.resources.jobs_table import JobsTable
from etl_platform.resources.sns import AlertsTopic
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import FileTrackingTable


def platform_resources(settings: Settings) -> dict[str, Any]:
    """Every resource of the code location, configured for `settings`' environment."""
    connection = AwsConnection.from_settings(settings)
    names = settings.names
    return {
        "aws": connection,
        "s3": PlatformS3Resource.from_settings(settings),
        "jobs_table": JobsTable(connection=connection, table_name=names.jobs_table, status_index=names.jobs_status_index),
        "tracking_table": FileTrackingTable(
            connection=connection, table_name=names.tracking_table, status_index=names.tracking_status_index,
            shards=settings.ingestion.status_shards, ttl_days=settings.ingestion.tracking_ttl_days,
        ),
        "metrics_table": DynamoTable(connection=connection, table_name=names.metrics_table),
        "file_metadata_table": FileMetadataTable(connection=connection, table_name=names.file_metadata_table),
        "file_events_queue": SqsQueue(connection=connection, queue_name=names.file_events_queue),
        "dead_letter_queue": SqsQueue(connection=connection, queue_name=names.file_events_dlq),
        "alerts": AlertsTopic(connection=connection, topic_name=names.alerts_topic),
        "glue": GlueJobRunner.from_settings(settings, connection),
    }
