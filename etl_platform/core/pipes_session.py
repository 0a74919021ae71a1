"""Open the Dagster Pipes session of a Glue script, wherever it runs.

Under dagster-aws's PipesGlueClient the bootstrap arrives as Glue job arguments and context
and messages travel through S3; under the local runner (a PipesSubprocessClient) they
arrive in environment variables. Run by hand, the session is a no-op. Only `dagster_pipes`
(a dependency-free module) is imported; the S3 client is passed in.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from dagster_pipes import (
    PipesCliArgsParamsLoader, PipesContext, PipesEnvVarParamsLoader, PipesS3ContextLoader, PipesS3MessageWriter,
    open_dagster_pipes,
)


def open_pipes(s3_client_factory: Callable[[], Any], argv: list[str] | None = None) -> PipesContext:
    argv = sys.argv if argv is None else argv
    if "--dagster-pipes-context" in argv:
        client = s3_client_factory()
        return open_dagster_pipes(
            params_loader=PipesCliArgsParamsLoader(),
            context_loader=PipesS3ContextLoader(client=client),
            message_writer=PipesS3MessageWriter(client=client),
        )
    return open_dagster_pipes()


def launched_by_dagster(argv: list[str] | None = None) -> bool:
    """True under PipesGlueClient (bootstrap in the arguments) or the local runner (in the environment)."""
    argv = sys.argv if argv is None else argv
    return "--dagster-pipes-context" in argv or PipesEnvVarParamsLoader().is_dagster_pipes_process()

