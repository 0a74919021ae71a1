"""The console logger of the platform's runs: Dagster's own, with a handled failure in one line.

Bad input is handled: the asset records the reason (job FAILED, profile `error`) and raises
`dagster.Failure` so the run fails without retries. Dagster's console logger prints that
Failure's stack trace twice, under STEP_FAILURE and again under RUN_FAILURE, though nothing
crashed. Here an event whose error is a `Failure` is one line (the step's with the reason,
the run's without it); any other error keeps its stack trace, so what did crash still says
where. Dagster offers no setting for this; the event log and the UI keep the full event.
"""

from __future__ import annotations

import logging

from dagster import Failure, LoggerDefinition, logger
from dagster._loggers import colored_console_logger

EVENT_ATTRIBUTE = "dagster_event"  # where Dagster's log manager puts the event on the records it hands a logger


class HandledFailureInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(getattr(record, EVENT_ATTRIBUTE, None), "event_specific_data", None)
        error = getattr(data, "error", None)
        if error is not None and error.cls_name == Failure.__name__:
            head = record.getMessage().split("\n\n", 1)[0]  # the message, without the error and its stack
            failure = getattr(data, "user_failure_data", None)  # the step's: its description is the reason
            reason = " ".join((failure.description or "").split()) if failure is not None else ""
            record.msg = f"{head} {reason}" if reason else head  # a reason may end in a newline (pyarrow's do)
            record.args = ()
        return True


@logger(colored_console_logger.config_schema, description="Dagster's colored console logger; a handled failure "
                                                          "(dagster.Failure) is one line, without its stack trace.")
def console_logger(init_context) -> logging.Logger:
    console = colored_console_logger.logger_fn(init_context)
    for handler in console.handlers:
        handler.addFilter(HandledFailureInOneLine())
    return console


# The loggers of the platform's code location (definitions.py, in-process runs): `console` replaces Dagster's.
LOGGERS: dict[str, LoggerDefinition] = {"console": console_logger}
# Dagster runs a job's own loggers only when its run config names them (else its default console,
# at DEBUG): the default config of the jobs that fail on bad input names this one, at the same level.
CONSOLE_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
