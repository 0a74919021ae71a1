"""The local Glue runner's Pipes reader takes a message the writer is still appending as one
message once its line is whole (Dagster's temp-file reader parses the partial line, its
thread dies, and the run ends without its outcome: the 10,000-column hostile file under load)."""

import sys
import textwrap
import threading
import time

from dagster import AssetExecutionContext, MaterializeResult, PipesSubprocessClient, asset, materialize

from etl_platform.resources.pipes_messages import CompleteLineMessageReader, complete_lines

# The script reports one ~1 MB custom message in two writes 0.5 s apart, as a kernel copying
# one large write page by page can show it to a reader that polls in between.
SCRIPT = textwrap.dedent("""
    import json, time
    from dagster_pipes import PipesEnvVarParamsLoader, _make_message, open_dagster_pipes
    with open_dagster_pipes() as pipes:
        path = PipesEnvVarParamsLoader().load_messages_params()["path"]
        line = json.dumps(_make_message("report_custom_message",
                                        {"payload": {"columns": ["c%d" % i for i in range(100000)]}})) + "\\n"
        with open(path, "a", encoding="utf-8") as out:
            out.write(line[:len(line) // 2]); out.flush()
            time.sleep(0.5)
            out.write(line[len(line) // 2:]); out.flush()
""")


def test_a_message_written_in_two_parts_arrives_whole(tmp_path):
    script = tmp_path / "report.py"
    script.write_text(SCRIPT)
    received = {}

    @asset
    def reported(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        invocation = pipes.run(context=context, command=[sys.executable, str(script)])
        received["messages"] = invocation.get_custom_messages()
        return MaterializeResult()

    client = PipesSubprocessClient(message_reader=CompleteLineMessageReader())
    assert materialize([reported], resources={"pipes": client}).success
    assert len(received["messages"]) == 1
    assert received["messages"][0]["columns"][-1] == "c99999"


def test_complete_lines_waits_for_the_newline_and_reads_after_stop(tmp_path):
    path = tmp_path / "messages"
    path.write_bytes(b'{"a": 1}\n{"b": ')
    stop = threading.Event()
    lines: list[str] = []
    with open(path, "rb") as stream:
        reader = threading.Thread(target=lambda: lines.extend(complete_lines(stream, stop.is_set)))
        reader.start()
        time.sleep(0.2)
        assert lines == ['{"a": 1}']  # the partial second line is held back
        with open(path, "ab") as out:
            out.write(b'2}\n{"c": "\xc3\xbc"}\n')  # ... and the last line lands just before the stop
        stop.set()
        reader.join(5)
    assert lines == ['{"a": 1}', '{"b": 2}', '{"c": "\u00fc"}']


def test_an_unterminated_last_line_is_handed_over_at_the_end(tmp_path):
    path = tmp_path / "messages"
    path.write_bytes(b'{"a": 1}\n{"cut')
    with open(path, "rb") as stream:
        assert list(complete_lines(stream, lambda: True)) == ['{"a": 1}', '{"cut']
