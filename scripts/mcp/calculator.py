"""A small MCP server for the opt-in suite (tests/mcp_python.rs), on the official Python SDK
`mcp` (its `MCPServer`, FastMCP before mcp 2): a calculator whose tools add numbers, answer
with structured content, fail as a tool error, crash, and reject a call with a protocol error.

    python calculator.py               serve on standard input and output
    python calculator.py --http PORT   serve streamable HTTP at http://127.0.0.1:PORT/mcp

`scripts/local-model.sh mcp` installs the pinned `mcp` into a venv and prints its python.
"""

import argparse
import logging
from typing import Annotated, TypedDict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

server = MCPServer("calculator", log_level="WARNING")

First = Annotated[int, Field(description="The first number.")]
Second = Annotated[int, Field(description="The second number.")]


class Crash(RuntimeError):
    """The failure of `crash`, which the server would log with its traceback: expected here."""


logging.getLogger("mcp.server.mcpserver.server").addFilter(
    lambda record: not (record.exc_info and isinstance(record.exc_info[1].__cause__, Crash))
)


class Quotient(TypedDict):
    quotient: int
    remainder: int


@server.tool(structured_output=False)
def add(a: First, b: Second) -> int:
    """Adds two numbers."""
    return a + b


@server.tool()
def divide(a: First, b: Second) -> Quotient:
    """Divides a by b, with the remainder."""
    if b == 0:
        raise ToolError("cannot divide by zero")
    return {"quotient": a // b, "remainder": a % b}


@server.tool()
def crash() -> str:
    """Always fails with an exception the server does not expect."""
    raise Crash("a secret the caller must not see")


@server.tool()
def refuse() -> str:
    """Always refuses, with a protocol error."""
    raise MCPError(INVALID_PARAMS, "refused on purpose")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args()
    if args.http is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
