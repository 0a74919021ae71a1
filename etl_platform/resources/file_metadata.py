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
