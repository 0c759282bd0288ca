"""The API shapes ("wires") the gateway speaks to agents, each mapped onto one OpenAI Chat Completions
call upstream: a name → class map by request path (a new wire is one class and its paths here).

- `chat`: OpenAI Chat Completions, passed through.
- `responses`: OpenAI Responses (what Codex CLI speaks), translated to a chat call and back, streamed
  as Responses events when asked.
- `messages`: Anthropic Messages (what Claude Code speaks), the same way.
Only what coding agents use is mapped: text, function and custom (free-form) tools, their calls and
outputs; reasoning and thinking items, images and hosted tools (web search) are left out of the chat call.

Why by hand and not LiteLLM's bridge: LiteLLM cannot live in perpass's environment (its pins conflict
with perpass's, see tests/litellm_proxy.py), and a LiteLLM proxy per episode would cost seconds and
hundreds of MB per episode for what is a plain mapping of a few fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from perpass.endpoints.client import ChatReply
from perpass.endpoints.sse import completion_events


class Wire:
    name: ClassVar[str]

    def to_chat(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The chat request for an agent's body; None when the body is not a request of this wire."""
        raise NotImplementedError

    def reply_body(self, reply: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def events(self, reply_body: dict[str, Any]) -> Iterator[bytes]:
        raise NotImplementedError


class ChatWire(Wire):
    name = "chat"

    def to_chat(self, body: dict[str, Any]) -> dict[str, Any] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return None
        return body

    def reply_body(self, reply: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        return reply.raw

    def events(self, reply_body: dict[str, Any]) -> Iterator[bytes]:
        return completion_events(reply_body)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class ResponsesWire(Wire):
    name = "responses"
    ROLES: ClassVar[dict[str, str]] = {"developer": "system", "system": "system", "user": "user",
                                       "assistant": "assistant"}

    def to_chat(self, body: dict[str, Any]) -> dict[str, Any] | None:
        items = body.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return None
        messages: list[dict[str, Any]] = []
        if body.get("instructions"):
            messages.append({"role": "system", "content": str(body["instructions"])})
        for item in items:
            kind = item.get("type", "message")
            if kind == "message":
                messages.append({"role": self.ROLES.get(str(item.get("role")), "user"),
                                 "content": _text(item.get("content"))})
            elif kind in ("function_call", "custom_tool_call"):
                arguments = item.get("arguments") if kind == "function_call" else \
                    json.dumps({"input": item.get("input", "")})
                call = {"id": item.get("call_id"), "type": "function",
                        "function": {"name": item.get("name"), "arguments": arguments or "{}"}}
                last = messages[-1] if messages else None
                if last is not None and last["role"] == "assistant" and last.get("tool_calls") is not None:
                    last["tool_calls"].append(call)  # parallel calls of one reply: one assistant message
                else:
                    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            elif kind in ("function_call_output", "custom_tool_call_output"):
                messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                                 "content": _text(item.get("output"))})
        chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
        tools = [self._tool(t) for t in body.get("tools") or [] if isinstance(t, dict)]
        if any(tools):
            chat["tools"] = [t for t in tools if t]
        for key, chat_key in (("max_output_tokens", "max_tokens"), ("temperature", "temperature"),
                              ("top_p", "top_p"), ("parallel_tool_calls", "parallel_tool_calls")):
            if body.get(key) is not None:
                chat[chat_key] = body[key]
        chat["stream"] = bool(body.get("stream"))
        return chat

    @staticmethod
    def _tool(tool: dict[str, Any]) -> dict[str, Any] | None:
        if tool.get("type") == "function":
            return {"type": "function", "function": {
                "name": tool.get("name"), "description": tool.get("description", ""),
                "parameters": tool.get("parameters") or {"type": "object"}}}
        if tool.get("type") == "custom":  # free-form input (Codex's apply_patch): one string argument
            return {"type": "function", "function": {
                "name": tool.get("name"), "description": tool.get("description", ""),
                "parameters": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}}}
        return None  # hosted tools (web search, ...) have no chat equivalent

    def reply_body(self, reply: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        custom = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "custom"}
        stamp = str(time.time_ns())
        output: list[dict[str, Any]] = []
        if reply.content:
            output.append({"type": "message", "id": f"msg_{stamp}", "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": reply.content, "annotations": []}]})
        for i, call in enumerate(reply.tool_calls):
            if call.name in custom:
                try:
                    text = str(json.loads(call.arguments).get("input", ""))
                except (ValueError, AttributeError):
                    text = call.arguments
                output.append({"type": "custom_tool_call", "id": f"ctc_{stamp}_{i}", "status": "completed",
                               "call_id": call.id, "name": call.name, "input": text})
            else:
                output.append({"type": "function_call", "id": f"fc_{stamp}_{i}", "status": "completed",
                               "call_id": call.id, "name": call.name, "arguments": call.arguments})
        usage = reply.usage
        return {"id": f"resp_{stamp}", "object": "response", "created_at": int(time.time()), "status": "completed",
                "model": body.get("model"), "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
                "tools": [], "error": None, "incomplete_details": None,
                "usage": {"input_tokens": usage.prompt_tokens or 0,
                          "input_tokens_details": {"cached_tokens": usage.cached_prompt_tokens or 0},
                          "output_tokens": usage.completion_tokens or 0,
                          "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
                          "total_tokens": (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)}}

    def events(self, reply_body: dict[str, Any]) -> Iterator[bytes]:
        number = iter(range(1 << 30))

        def event(kind: str, **data: Any) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': next(number), **data})}\n\n" \
                .encode()

        yield event("response.created", response={**reply_body, "status": "in_progress", "output": []})
        for index, item in enumerate(reply_body["output"]):
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", **({"content": []} if "content" in item else {})})
            if item["type"] == "message":
                text = item["content"][0]["text"]
                part = {"type": "output_text", "text": "", "annotations": []}
                yield event("response.content_part.added", item_id=item["id"], output_index=index, content_index=0,
                            part=part)
                yield event("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                            delta=text)
                yield event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                            text=text)
                yield event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                            part={**part, "text": text})
            elif item["type"] == "function_call":
                yield event("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                            delta=item["arguments"])
                yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                            arguments=item["arguments"])
            yield event("response.output_item.done", output_index=index, item=item)
        yield event("response.completed", response=reply_body)


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


class MessagesWire(Wire):
    """Anthropic Messages (what Claude Code speaks): text, tool_use and tool_result blocks; images and
    thinking blocks are left out of the chat call."""

    name = "messages"
    STOPS: ClassVar[dict[str, str]] = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}

    def to_chat(self, body: dict[str, Any]) -> dict[str, Any] | None:
        messages_in = body.get("messages")
        if not isinstance(messages_in, list) or not all(isinstance(m, dict) for m in messages_in):
            return None
        messages: list[dict[str, Any]] = []
        if body.get("system"):
            messages.append({"role": "system", "content": _text(body["system"])})
        for message in messages_in:
            blocks = message.get("content")
            blocks = [{"type": "text", "text": blocks}] if isinstance(blocks, str) else blocks or []
            text = "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            if message.get("role") == "assistant":
                calls = [{"id": b.get("id"), "type": "function",
                          "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input") or {})}}
                         for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
                reply: dict[str, Any] = {"role": "assistant", "content": text or None}
                messages.append({**reply, "tool_calls": calls} if calls else reply)
                continue
            for block in blocks:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id"),
                                     "content": _text(block.get("content"))})
            if text:
                messages.append({"role": "user", "content": text})
        chat: dict[str, Any] = {"model": body.get("model"), "messages": messages, "stream": bool(body.get("stream"))}
        tools = [{"type": "function", "function": {
            "name": t.get("name"), "description": t.get("description", ""),
            "parameters": t.get("input_schema") or {"type": "object"}}}
            for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
        if tools:
            chat["tools"] = tools
        for key, chat_key in (("max_tokens", "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p"),
                              ("stop_sequences", "stop")):
            if body.get(key) is not None:
                chat[chat_key] = body[key]
        return chat

    def reply_body(self, reply: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.content}] if reply.content else []
        for call in reply.tool_calls:
            try:
                arguments = json.loads(call.arguments or "{}")
            except ValueError:
                arguments = {}
            content.append({"type": "tool_use", "id": call.id, "name": call.name,
                            "input": arguments if isinstance(arguments, dict) else {}})
        usage = reply.usage
        return {"id": f"msg_{time.time_ns()}", "type": "message", "role": "assistant", "model": body.get("model"),
                "content": content, "stop_sequence": None,
                "stop_reason": "tool_use" if reply.tool_calls
                else self.STOPS.get(reply.finish_reason or "", "end_turn"),
                "usage": {"input_tokens": usage.prompt_tokens or 0, "output_tokens": usage.completion_tokens or 0,
                          "cache_read_input_tokens": usage.cached_prompt_tokens or 0,
                          "cache_creation_input_tokens": 0}}

    def events(self, reply_body: dict[str, Any]) -> Iterator[bytes]:
        usage = reply_body["usage"]
        yield _sse("message_start", {"message": {**reply_body, "content": [], "stop_reason": None,
                                                 "usage": {**usage, "output_tokens": 0}}})
        for index, block in enumerate(reply_body["content"]):
            if block["type"] == "text":
                yield _sse("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
                yield _sse("content_block_delta", {"index": index,
                                                   "delta": {"type": "text_delta", "text": block["text"]}})
            else:
                yield _sse("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
                yield _sse("content_block_delta", {"index": index, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
            yield _sse("content_block_stop", {"index": index})
        yield _sse("message_delta", {"delta": {"stop_reason": reply_body["stop_reason"], "stop_sequence": None},
                                     "usage": {"output_tokens": usage["output_tokens"]}})
        yield _sse("message_stop", {})


WIRES: dict[str, type[Wire]] = {
    "/v1/chat/completions": ChatWire, "/chat/completions": ChatWire,
    "/v1/responses": ResponsesWire, "/responses": ResponsesWire,
    "/v1/messages": MessagesWire,
}
