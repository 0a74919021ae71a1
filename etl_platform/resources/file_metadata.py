"""Pipeline C's `data-ingestion-pipeline-file-metadata-{env}` table (seed 004's item shape)."""

from __future__ import annotations

from typing import Any

from etl_platform.resources.dynamodb import DynamoTable


class FileMetadataTable(DynamoTable):
    def latest_profile(self, file_name: str) -> dict[str, Any] | None:
        return self.get({"file_name": file_name})

    def record_profile(self, item: dict[str, Any]) -> None:
        """Store a file's profile (status success or error); the newest replaces the last."""
        if item.get("status") not in ("success", "error"):
            raise ValueError(f"status must be 'success' or 'error', got {item.get('status')!r}")
        self.put(item)

    def record_error_unless_newer(self, item: dict[str, Any], since: str, run_id: str = "") -> bool:
        """Store an error item unless the file was profiled after `since` (ISO UTC, whole
        seconds as the seed's timestamps): a run that ended unsettled must not overwrite what
        a later run recorded. The item that settled `run_id` may be written again."""
        condition = "attribute_not_exists(file_name) OR processed_timestamp <= :since"
        if not run_id:
            return self.put_if(item, condition, values={":since": since})
        return self.put_if(item, f"{condition} OR settled_run_id = :run", values={":since": since, ":run": run_id})
