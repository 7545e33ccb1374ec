"""LangChain's Ollama and OpenAI integrations against `swiftlm serve`, configured as their docs say.

LangChain has no list/show/ps calls; those are covered through the `ollama` and `openai` clients.
"""

from __future__ import annotations

import ollama
import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_ollama import ChatOllama, OllamaEmbeddings, OllamaLLM
from langchain_openai import ChatOpenAI, OpenAI

from conftest import QWEN, SMOL

QUESTION = "Write a Python function that reverses a string."


def test_chat_ollama_invoke_and_stream(base_url, cli_run):
    llm = ChatOllama(model=QWEN, base_url=base_url, temperature=0, seed=42, num_predict=12)
    reply = llm.invoke([HumanMessage(QUESTION)])
    assert reply.content == cli_run(QWEN, QUESTION, "--temperature", "0", "--seed", "42", "--num-predict", "12")
    assert reply.response_metadata["done_reason"] == "length"
    assert reply.usage_metadata["output_tokens"] == 12
    assert reply.usage_metadata["input_tokens"] > 0

    chunks = list(llm.stream([HumanMessage(QUESTION)]))
    assert len(chunks) >= 2
    assert "".join(c.content for c in chunks) == reply.content


def test_chat_ollama_with_system_message(base_url):
    llm = ChatOllama(model=QWEN, base_url=base_url, temperature=0, num_predict=6)
    reply = llm.invoke([SystemMessage("Answer in one word."), HumanMessage("Capital of France?")])
    assert reply.content
    assert reply.response_metadata["done_reason"] in ("stop", "length")


def test_ollama_llm_invoke_and_stream(base_url, cli_run):
    prompt = "Why is the sky blue?"
    llm = OllamaLLM(model=SMOL, base_url=base_url, temperature=0, seed=42, num_predict=10)
    text = llm.invoke(prompt)
    assert text == cli_run(SMOL, prompt, "--temperature", "0", "--seed", "42", "--num-predict", "10")
    assert "".join(llm.stream(prompt)) == text


def test_ollama_embeddings(base_url):
    embeddings = OllamaEmbeddings(model=SMOL, base_url=base_url)
    vectors = embeddings.embed_documents(["The sky is blue.", "Pasta."])
    assert len(vectors) == 2 and len(vectors[0]) == 576
    query = embeddings.embed_query("The sky is blue.")
    assert max(abs(a - b) for a, b in zip(query, vectors[0])) < 1e-3


def test_chat_ollama_unknown_model_raises_response_error(base_url):
    llm = ChatOllama(model="no-such-model:1b", base_url=base_url)
    with pytest.raises(ollama.ResponseError) as e:
        llm.invoke("hi")
    assert e.value.status_code == 404


def test_chat_openai_invoke_and_stream_with_usage(base_url, cli_run):
    # ChatOpenAI sends max_tokens as OpenAI's current `max_completion_tokens`.
    llm = ChatOpenAI(model=QWEN, base_url=base_url + "/v1", api_key="swiftlm", temperature=0, seed=42,
                     max_tokens=12, max_retries=0, stream_usage=True)
    reply = llm.invoke([HumanMessage(QUESTION)])
    assert reply.content == cli_run(QWEN, QUESTION, "--temperature", "0", "--seed", "42", "--num-predict", "12")
    assert reply.response_metadata["finish_reason"] == "length"
    assert reply.usage_metadata["output_tokens"] == 12

    chunks = list(llm.stream([HumanMessage(QUESTION)]))
    assert "".join(c.content for c in chunks) == reply.content
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 12


def test_chat_openai_logprobs(base_url):
    llm = ChatOpenAI(model=QWEN, base_url=base_url + "/v1", api_key="swiftlm", temperature=0, max_tokens=4,
                     max_retries=0, logprobs=True, top_logprobs=2)
    reply = llm.invoke("Say hi.")
    content = reply.response_metadata["logprobs"]["content"]
    assert "".join(t["token"] for t in content) == reply.content
    assert all(len(t["top_logprobs"]) == 2 for t in content)


def test_openai_completions_llm(base_url):
    llm = OpenAI(model=SMOL, base_url=base_url + "/v1", api_key="swiftlm", temperature=0, max_tokens=8,
                 max_retries=0)
    text = llm.invoke("Why is the sky blue?")
    assert text
    assert "".join(llm.stream("Why is the sky blue?")) == text


def test_chat_openai_errors_are_openai_exceptions(base_url):
    missing = ChatOpenAI(model="no-such-model:1b", base_url=base_url + "/v1", api_key="swiftlm", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        missing.invoke("hi")
    bad = ChatOpenAI(model=QWEN, base_url=base_url + "/v1", api_key="swiftlm", max_retries=0, top_logprobs=21,
                     logprobs=True)
    with pytest.raises(openai.BadRequestError):
        bad.invoke("hi")
