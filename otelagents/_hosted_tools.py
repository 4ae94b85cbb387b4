"""Hosted tools: tools the OpenAI Responses API runs on its side (web search, file search, code interpreter,
image generation). The runner passes them to the model as they are; their calls come back as output items
(``ToolCallItem``, event ``tool_called``) with no output item of ours, as in the Agents SDK. Chat
Completions cannot carry them: the Chat model raises ``UserError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from openai.types.responses import (
    ResponseCodeInterpreterToolCall,
    ResponseFileSearchToolCall,
    ResponseFunctionWebSearch,
)
from openai.types.responses.response_output_item import ImageGenerationCall

from .exceptions import UserError

__all__ = ["CodeInterpreterTool", "FileSearchTool", "ImageGenerationTool", "WebSearchTool"]

# The output items of hosted tool calls (each becomes a ToolCallItem).
HOSTED_CALL_TYPES = (ResponseFileSearchToolCall, ResponseFunctionWebSearch, ResponseCodeInterpreterToolCall,
                     ImageGenerationCall)


@dataclass
class WebSearchTool:
    """Search the web (Responses API)."""

    user_location: Any = None
    filters: Any = None
    search_context_size: Literal["low", "medium", "high"] = "medium"
    external_web_access: bool | None = None
    search_content_types: list[Literal["text", "image"]] | None = None
    image_settings: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return "web_search"

    def to_param(self) -> tuple[dict[str, Any], str | None]:
        filters = self.filters
        param: dict[str, Any] = {
            "type": "web_search",
            "filters": filters.model_dump() if hasattr(filters, "model_dump") else filters,
            "user_location": self.user_location,
            "search_context_size": self.search_context_size,
        }
        if self.external_web_access is not None:
            param["external_web_access"] = self.external_web_access
        if self.search_content_types is not None:
            param["search_content_types"] = list(self.search_content_types)
        if self.image_settings is not None:
            param["image_settings"] = dict(self.image_settings)
        images = self.search_content_types is not None and "image" in self.search_content_types
        return param, "web_search_call.results" if images else None


@dataclass
class FileSearchTool:
    """Search the given OpenAI vector stores (Responses API)."""

    vector_store_ids: list[str] = field(default_factory=list)
    max_num_results: int | None = None
    include_search_results: bool = False
    ranking_options: Any = None
    filters: Any = None

    @property
    def name(self) -> str:
        return "file_search"

    def to_param(self) -> tuple[dict[str, Any], str | None]:
        param: dict[str, Any] = {"type": "file_search", "vector_store_ids": self.vector_store_ids}
        limit = self.max_num_results
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 50:
                raise UserError("FileSearchTool max_num_results must be zero, an integer between 1 and 50, or None.")
            if limit > 0:
                param["max_num_results"] = limit
        if self.ranking_options:
            param["ranking_options"] = self.ranking_options
        if self.filters:
            param["filters"] = self.filters
        return param, "file_search_call.results" if self.include_search_results else None


@dataclass
class CodeInterpreterTool:
    """Run code in an OpenAI container; ``tool_config`` is the API's ``code_interpreter`` tool."""

    tool_config: dict[str, Any]

    @property
    def name(self) -> str:
        return "code_interpreter"

    def to_param(self) -> tuple[dict[str, Any], str | None]:
        return dict(self.tool_config), None


@dataclass
class ImageGenerationTool:
    """Generate images; ``tool_config`` is the API's ``image_generation`` tool."""

    tool_config: dict[str, Any]

    @property
    def name(self) -> str:
        return "image_generation"

    def to_param(self) -> tuple[dict[str, Any], str | None]:
        return dict(self.tool_config), None


HostedTool = Union[WebSearchTool, FileSearchTool, CodeInterpreterTool, ImageGenerationTool]
HOSTED_TOOLS = (WebSearchTool, FileSearchTool, CodeInterpreterTool, ImageGenerationTool)
