"""The web page at `/` in headless Chromium (Debian's, driven by Playwright):
upload -> completed -> preview -> download."""

import httpx
import pytest

from etl_platform_tests.parquet_to_json.conftest import expected_records, nested_table, parquet_bytes, read_ndjson

pytestmark = pytest.mark.e2e

def test_upload_complete_preview_download(browser_page, api_url, aws, tmp_path):
    page = browser_page
    source = nested_table(30)
    upload = tmp_path / "browser upload.parquet"
    upload.write_bytes(parquet_bytes(source))

    page.goto(api_url + "/")
    page.set_input_files("#file", str(upload))
    page.click("#upload")
    row = page.locator("#jobs tbody tr", has_text="browser_upload.parquet")
    row.locator(".status.COMPLETED").wait_for()
    job_id = row.get_attribute("data-job-id")
    assert httpx.get(f"{api_url}/job-status/{job_id}").json()["status"] == "COMPLETED"

    row.locator("button.preview").click()
    page.locator("#preview table tr").nth(10).wait_for()  # header + 10 records
    assert page.locator("#preview table tr").count() == 11
    assert page.locator("#preview th").all_inner_texts() == source.column_names
    assert page.locator("#preview-title").inner_text() == "Preview of browser_upload.ndjson"

    with page.expect_download() as download_info:
        row.locator("button.download").click()
    download = download_info.value
    assert download.suggested_filename == "browser_upload.ndjson"
    saved = tmp_path / "saved.ndjson"
    download.save_as(saved)
    assert read_ndjson(saved.read_bytes()) == expected_records(source)


def test_malformed_records_show_flagged_and_the_page_keeps_working(browser_page, api_url, aws):
    """Records written by hand: the page lists them with what they have and a flag, and the
    sound job beside them still shows as usual."""
    from etl_platform.aws import make_client
    from etl_platform.resources.dynamodb import serialize_item

    dynamodb = make_client("dynamodb", region=aws.region, endpoint_url=aws.endpoint_url)
    for item in ({"jobId": "sound-job", "fileName": "sound.parquet", "status": "PENDING",
                  "createdAt": "2024-02-04T00:00:00.000Z", "updatedAt": "2024-02-04T00:00:00.000Z",
                  "inputS3Key": "uploads/sound-job/sound.parquet"},
                 {"jobId": "bare-job"},
                 {"jobId": "odd-job", "fileName": 42, "status": "DONE", "createdAt": 17}):
        dynamodb.put_item(TableName=aws.names.jobs_table, Item=serialize_item(item))

    page = browser_page
    page.goto(api_url + "/")
    page.locator("#jobs tbody tr[data-job-id='odd-job']").wait_for()
    bare = page.locator("#jobs tbody tr[data-job-id='bare-job']")
    assert "malformed-job" in bare.get_attribute("class")
    assert bare.locator(".malformed").inner_text() == ("malformed record: fileName missing; status missing; "
                                                       "createdAt missing; updatedAt missing; inputS3Key missing")
    assert bare.locator("td").nth(2).inner_text().startswith("?")
    odd = page.locator("#jobs tbody tr[data-job-id='odd-job'] .malformed").inner_text()
    assert "fileName is not a string: 42" in odd and "status 'DONE'" in odd
    sound = page.locator("#jobs tbody tr[data-job-id='sound-job']")
    assert sound.locator(".status.PENDING").inner_text() == "PENDING" and sound.locator(".malformed").count() == 0
    assert sound.locator("button.trigger").count() == 1 and page.locator("#message").inner_text() == ""
