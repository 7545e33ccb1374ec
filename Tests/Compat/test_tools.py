"""Tool calling through the official clients: a weather question to qwen2.5-coder:0.5b gives a call whose
arguments parse, the result goes back as a `tool` message, and the model answers with it. Streamed and
not, with the `ollama` and `openai` clients (temperature 0 and a seed, for determinism)."""

from __future__ import annotations

import json

import ollama
import openai
import pytest

from conftest import QWEN, SMOL

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
            "required": ["city"],
        },
    },
}]
QUESTION = {"role": "user", "content": "What is the weather like in Paris today?"}
RESULT = '{"temperature": 21, "condition": "sunny"}'


def get_weather(city: str, **_) -> str:
    assert city == "Paris"
    return RESULT


# --- openai -----------------------------------------------------------------------------------------

def openai_call(client, stream: bool):
    """The first turn; returns the assistant message as the SDK builds it (accumulated when streamed)."""
    if not stream:
        r = client.chat.completions.create(model=QWEN, messages=[QUESTION], tools=TOOLS, temperature=0, seed=42)
        choice = r.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        return choice.message.tool_calls
    calls: dict[int, dict] = {}
    finish, text = None, ""
    for chunk in client.chat.completions.create(model=QWEN, messages=[QUESTION], tools=TOOLS, temperature=0, seed=42,
                                                stream=True):
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for part in choice.delta.tool_calls or []:
            entry = calls.setdefault(part.index, {"id": None, "name": "", "arguments": ""})
            if part.id:
                assert entry["id"] is None, "the id comes once, in the call's first chunk"
                assert part.function.name, "the name comes with the id"
                entry["id"], entry["name"] = part.id, part.function.name
            else:
                assert entry["id"] is not None, "arguments came before the call's id and name"
            entry["arguments"] += part.function.arguments or ""
        finish = choice.finish_reason or finish
    assert text == "", f"call markup leaked as text: {text!r}"
    assert finish == "tool_calls"
    return [openai.types.chat.ChatCompletionMessageToolCall(
        id=c["id"], type="function", function={"name": c["name"], "arguments": c["arguments"]}) for c in calls.values()]


@pytest.mark.parametrize("stream", [False, True])
def test_openai_tool_round_trip(openai_client, stream):
    calls = openai_call(openai_client, stream)
    assert len(calls) == 1
    call = calls[0]
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)  # a string of JSON, as the SDK expects
    assert arguments["city"] == "Paris"

    messages = [QUESTION,
                {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
                {"role": "tool", "tool_call_id": call.id, "content": get_weather(**arguments)}]
    r = openai_client.chat.completions.create(model=QWEN, messages=messages, tools=TOOLS, temperature=0, seed=42,
                                              max_tokens=64)
    # qwen2.5-coder:0.5b, greedy, repeats the call before it states the result (so does llama.cpp's greedy
    # reply to the same prompt): the result must reach the answer's text.
    answer = r.choices[0].message
    assert all(c.function.name == "get_weather" for c in answer.tool_calls or [])
    assert "21" in answer.content, answer.content


def test_openai_named_tool_choice_forces_the_call(openai_client):
    r = openai_client.chat.completions.create(
        model=QWEN, messages=[{"role": "user", "content": "Is it raining in Oslo?"}], tools=TOOLS, temperature=0, seed=42,
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] == "Oslo"


def test_openai_tools_on_a_model_without_tool_support_is_400(openai_client):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.chat.completions.create(model=SMOL, messages=[QUESTION], tools=TOOLS)
    assert "does not support tools" in str(e.value)


# --- ollama -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_ollama_tool_round_trip(ollama_client, stream):
    options = {"temperature": 0, "seed": 42}
    if stream:
        parts = list(ollama_client.chat(model=QWEN, messages=[QUESTION], tools=TOOLS, options=options, stream=True))
        assert "".join(p.message.content or "" for p in parts) == ""
        calls = [c for p in parts for c in (p.message.tool_calls or [])]
        assert parts[-1].done
    else:
        response = ollama_client.chat(model=QWEN, messages=[QUESTION], tools=TOOLS, options=options)
        calls = response.message.tool_calls or []
        assert response.message.content == ""
    assert len(calls) == 1
    call = calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, dict)  # an object, not a string
    assert call.function.arguments["city"] == "Paris"

    messages = [QUESTION,
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_name": "get_weather", "content": get_weather(**call.function.arguments)}]
    answer = ollama_client.chat(model=QWEN, messages=messages, tools=TOOLS, options={**options, "num_predict": 64})
    assert all(c.function.name == "get_weather" for c in answer.message.tool_calls or [])
    assert "21" in answer.message.content, answer.message.content


def test_ollama_tools_on_a_model_without_tool_support_is_400(ollama_client):
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.chat(model=SMOL, messages=[QUESTION], tools=TOOLS)
    assert e.value.status_code == 400
    assert "does not support tools" in e.value.error
