"""A tiny MCP server over stdio (the real ``mcp`` SDK), for the Agents SDK plugin's MCP test."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("lookup")


@server.tool()
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


if __name__ == "__main__":
    server.run("stdio")
