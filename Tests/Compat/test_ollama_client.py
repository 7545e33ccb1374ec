"""The official `ollama` Python client against `swiftlm serve`, unchanged: every call a user makes."""

from __future__ import annotations

import datetime as dt
import math
import time

import ollama
import pytest

from conftest import GEMMA, QWEN, SMOL, unload_everything

PROMPT = "Why is the sky blue?"
GREEDY = {"temperature": 0, "seed": 42, "num_predict": 12}


# --- list, show, ps ---------------------------------------------------------------------------------

def test_list_has_the_catalog_models_with_details(ollama_client):
    models = {m.model: m for m in ollama_client.list().models}
    for name in (SMOL, QWEN, GEMMA):
        assert name in models, f"{name} missing from /api/tags: {sorted(models)}"
    smol = models[SMOL]
    assert smol.size == 98362432
    assert smol.modified_at is not None
    assert len(smol.digest.removeprefix("sha256:")) == 64
    assert smol.details.format == "gguf"
    assert smol.details.family == "llama"
    assert smol.details.quantization_level == "Q4_1"
    assert models[QWEN].details.quantization_level == "Q4_K_M"


def test_show_gives_model_info_template_details_capabilities(ollama_client):
    smol = ollama_client.show(SMOL)
    assert smol.modelinfo["general.architecture"] == "llama"
    assert isinstance(smol.modelinfo["llama.context_length"], int) and smol.modelinfo["llama.context_length"] > 0
    assert smol.modelinfo["llama.embedding_length"] == 576
    assert smol.modelinfo["llama.block_count"] == 30
    assert smol.details.format == "gguf"
    assert smol.details.family == "llama"
    assert smol.details.quantization_level == "Q4_1"
    assert "completion" in smol.capabilities

    qwen = ollama_client.show(QWEN)
    assert qwen.modelinfo["general.architecture"] == "qwen2"
    assert "qwen2.context_length" in qwen.modelinfo
    assert "<|im_start|>" in qwen.template

    gemma = ollama_client.show(GEMMA)
    assert gemma.modelinfo["general.architecture"] == "gemma3"
    assert "gemma3.context_length" in gemma.modelinfo


def test_ps_lists_a_model_after_use_with_default_five_minutes(ollama_client):
    ollama_client.generate(model=SMOL, prompt="Hi", options={"num_predict": 1})
    running = {m.model: m for m in ollama_client.ps().models}
    assert SMOL in running, f"/api/ps after a generate: {list(running)}"
    entry = running[SMOL]
    assert entry.size > 0
    assert entry.details.quantization_level == "Q4_1"
    left = (entry.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 240 < left <= 301, f"default keep_alive is 5m, expires_at is {left:.0f} s away"


# --- generate and chat, streamed and not ------------------------------------------------------------

def test_generate_not_streamed(ollama_client):
    r = ollama_client.generate(model=SMOL, prompt=PROMPT, options=GREEDY)
    assert r.model == SMOL
    assert r.done is True
    assert r.done_reason == "length"
    assert r.response
    assert r.eval_count == 12
    assert r.prompt_eval_count > 0
    for field in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        value = getattr(r, field)
        assert isinstance(value, int) and value >= 0, f"{field}={value!r}"
    assert r.total_duration >= r.eval_duration > 0


def test_generate_streamed_equals_not_streamed(ollama_client):
    whole = ollama_client.generate(model=SMOL, prompt=PROMPT, options=GREEDY).response
    chunks = list(ollama_client.generate(model=SMOL, prompt=PROMPT, options=GREEDY, stream=True))
    assert len(chunks) >= 2
    assert all(not c.done for c in chunks[:-1])
    final = chunks[-1]
    assert final.done is True and final.done_reason == "length"
    assert final.eval_count == 12 and final.eval_duration > 0
    assert "".join(c.response or "" for c in chunks) == whole


def test_chat_not_streamed(ollama_client):
    r = ollama_client.chat(model=QWEN, messages=[{"role": "user", "content": "Say hello."}],
                           options={"temperature": 0, "num_predict": 8})
    assert r.done is True and r.done_reason in ("stop", "length")
    assert r.message.role == "assistant"
    assert r.message.content
    assert r.eval_count <= 8


def test_chat_streamed_equals_not_streamed_and_generate(ollama_client):
    messages = [{"role": "user", "content": "Write a Python function that reverses a string."}]
    whole = ollama_client.chat(model=QWEN, messages=messages, options=GREEDY).message.content
    chunks = list(ollama_client.chat(model=QWEN, messages=messages, options=GREEDY, stream=True))
    assert chunks[-1].done is True and chunks[-1].done_reason == "length"
    assert all(c.message.role == "assistant" for c in chunks)
    assert "".join(c.message.content or "" for c in chunks) == whole
    # /api/generate renders the prompt through the same chat template as one user message.
    assert ollama_client.generate(model=QWEN, prompt=messages[0]["content"], options=GREEDY).response == whole


def test_chat_with_system_and_history(ollama_client):
    r = ollama_client.chat(model=QWEN, messages=[
        {"role": "system", "content": "You answer in one word."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Italy?"},
    ], options={"temperature": 0, "num_predict": 6})
    assert r.message.content
    assert r.prompt_eval_count > 30  # the whole history went through the template


# --- options honoured -------------------------------------------------------------------------------

def test_greedy_generate_matches_the_cli(ollama_client, cli_run):
    expected = cli_run(SMOL, PROMPT, "--temperature", "0", "--seed", "42", "--num-predict", "12")
    assert ollama_client.generate(model=SMOL, prompt=PROMPT, options=GREEDY).response == expected


def test_seeded_sampling_matches_the_cli(ollama_client, cli_run):
    # temperature 0.8 with a seed: the server must use the seed and the same defaults as the CLI
    # (Ollama's: top_k 40, top_p 0.9, repeat_penalty 1.1 over the last 64).
    options = {"temperature": 0.8, "seed": 7, "num_predict": 16}
    expected = cli_run(SMOL, PROMPT, "--temperature", "0.8", "--seed", "7", "--num-predict", "16")
    first = ollama_client.generate(model=SMOL, prompt=PROMPT, options=options).response
    again = ollama_client.generate(model=SMOL, prompt=PROMPT, options=options).response
    assert first == again
    assert first == expected


def test_greedy_chat_matches_the_cli(ollama_client, cli_run):
    prompt = "Write a Python function that reverses a string."
    expected = cli_run(QWEN, prompt, "--temperature", "0", "--seed", "42", "--num-predict", "12")
    r = ollama_client.chat(model=QWEN, messages=[{"role": "user", "content": prompt}], options=GREEDY)
    assert r.message.content == expected


def test_raw_generate_matches_the_cli_raw(ollama_client, cli_run):
    prompt = "The capital of France is"
    expected = cli_run(SMOL, prompt, "--raw", "--temperature", "0", "--num-predict", "8")
    r = ollama_client.generate(model=SMOL, prompt=prompt, raw=True, options={"temperature": 0, "num_predict": 8})
    assert r.response == expected


def test_num_predict_gives_done_reason_length(ollama_client):
    r = ollama_client.generate(model=SMOL, prompt=PROMPT, options={"num_predict": 3, "temperature": 0})
    assert r.done_reason == "length"
    assert r.eval_count == 3


def test_stop_sequence_ends_generation_with_stop(ollama_client):
    base = ollama_client.generate(model=SMOL, prompt="Count: 1, 2, 3,", raw=True,
                                  options={"temperature": 0, "num_predict": 12}).response
    # Stop on the first word the model would say after the opening characters.
    assert len(base) > 4
    stop = base[3:6]
    r = ollama_client.generate(model=SMOL, prompt="Count: 1, 2, 3,", raw=True,
                               options={"temperature": 0, "num_predict": 12, "stop": [stop]})
    assert r.done_reason == "stop"
    assert stop not in r.response
    assert base.startswith(r.response)


# --- keep_alive -------------------------------------------------------------------------------------

def wait_until_unloaded(client: ollama.Client, model: str | None = None, within: float = 5.0) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        names = [m.model for m in client.ps().models]
        if (not names if model is None else model not in names) or time.monotonic() > deadline:
            return names
        time.sleep(0.1)


def test_empty_prompt_loads_and_keep_alive_zero_unloads(ollama_client):
    unload_everything(ollama_client)
    assert wait_until_unloaded(ollama_client) == []
    r = ollama_client.generate(model=SMOL, prompt="")
    assert r.done is True and r.done_reason == "load"
    assert SMOL in [m.model for m in ollama_client.ps().models]
    r = ollama_client.generate(model=SMOL, prompt="", keep_alive=0)
    assert r.done is True and r.done_reason == "unload"
    assert wait_until_unloaded(ollama_client) == [], "/api/ps not empty after keep_alive 0"


def test_empty_chat_loads_and_unloads(ollama_client):
    r = ollama_client.chat(model=QWEN, messages=[])
    assert r.done is True and r.done_reason == "load"
    assert QWEN in [m.model for m in ollama_client.ps().models]
    r = ollama_client.chat(model=QWEN, messages=[], keep_alive=0)
    assert r.done_reason == "unload"
    assert QWEN not in wait_until_unloaded(ollama_client, QWEN)


def test_keep_alive_duration_and_forever(ollama_client):
    ollama_client.generate(model=SMOL, prompt="", keep_alive="2s")
    entry = next(m for m in ollama_client.ps().models if m.model == SMOL)
    left = (entry.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert left <= 3, f"keep_alive 2s, expires_at {left:.1f} s away"
    assert SMOL not in wait_until_unloaded(ollama_client, SMOL, within=8), "not unloaded after keep_alive 2s"

    # A plain number is seconds.
    ollama_client.generate(model=SMOL, prompt="", keep_alive=120)
    entry = next(m for m in ollama_client.ps().models if m.model == SMOL)
    left = (entry.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 100 < left <= 121, f"keep_alive 120, expires_at {left:.1f} s away"

    ollama_client.generate(model=SMOL, prompt="", keep_alive=-1)
    entry = next(m for m in ollama_client.ps().models if m.model == SMOL)
    assert entry.expires_at > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365)
    ollama_client.generate(model=SMOL, prompt="", keep_alive=0)


# --- logprobs ---------------------------------------------------------------------------------------

def check_logprobs(logprobs, text: str, count: int, top: int) -> None:
    assert logprobs is not None and len(logprobs) == count
    assert "".join(lp.token for lp in logprobs) == text
    for lp in logprobs:
        assert lp.logprob <= 0 and math.isfinite(lp.logprob)
        assert len(lp.top_logprobs) == top
        values = [t.logprob for t in lp.top_logprobs]
        assert values == sorted(values, reverse=True)
        # Greedy (and no repeat penalty): the chosen token is the most likely one.
        assert lp.top_logprobs[0].token == lp.token
        assert abs(lp.top_logprobs[0].logprob - lp.logprob) < 1e-3


def test_generate_logprobs(ollama_client):
    options = {"temperature": 0, "num_predict": 5, "repeat_penalty": 1.0}
    r = ollama_client.generate(model=SMOL, prompt=PROMPT, options=options, logprobs=True, top_logprobs=3)
    check_logprobs(r.logprobs, r.response, r.eval_count, 3)

    chunks = list(ollama_client.generate(model=SMOL, prompt=PROMPT, options=options, logprobs=True,
                                         top_logprobs=3, stream=True))
    streamed = [lp for c in chunks for lp in (c.logprobs or [])]
    check_logprobs(streamed, r.response, r.eval_count, 3)


def test_chat_logprobs(ollama_client):
    r = ollama_client.chat(model=QWEN, messages=[{"role": "user", "content": "Say hi."}], logprobs=True,
                           top_logprobs=2, options={"temperature": 0, "num_predict": 4, "repeat_penalty": 1.0})
    check_logprobs(r.logprobs, r.message.content, r.eval_count, 2)


# --- errors as the client's own exception -----------------------------------------------------------

def test_unknown_model_is_a_404_response_error(ollama_client):
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.generate(model="no-such-model:1b", prompt="hi")
    assert e.value.status_code == 404
    assert 'model "no-such-model:1b" not found' in e.value.error

    with pytest.raises(ollama.ResponseError) as e:
        for _ in ollama_client.chat(model="no-such-model:1b", messages=[{"role": "user", "content": "hi"}],
                                    stream=True):
            pass
    assert e.value.status_code == 404

    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.show("no-such-model:1b")
    assert e.value.status_code == 404


@pytest.mark.parametrize("kwargs, field", [
    ({"keep_alive": "soon"}, "keep_alive"),
    ({"options": {"num_predict": "many"}}, "num_predict"),
    ({"options": {"temperature": [1]}}, "temperature"),
    ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
])
def test_bad_field_is_a_400_response_error_naming_it(ollama_client, kwargs, field):
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.generate(model=SMOL, prompt="hi", **kwargs)
    assert e.value.status_code == 400
    assert field in e.value.error


# --- embeddings, copy, delete -----------------------------------------------------------------------

def test_embed_is_l2_normalised_and_legacy_embeddings_agree(ollama_client):
    r = ollama_client.embed(model=SMOL, input="The sky is blue.")
    assert len(r.embeddings) == 1 and len(r.embeddings[0]) == 576
    assert abs(math.sqrt(sum(x * x for x in r.embeddings[0])) - 1) < 1e-3

    two = ollama_client.embed(model=SMOL, input=["The sky is blue.", "Pasta with tomatoes."])
    assert len(two.embeddings) == 2
    assert max(abs(a - b) for a, b in zip(two.embeddings[0], r.embeddings[0])) < 1e-3
    assert two.embeddings[0] != two.embeddings[1]

    legacy = ollama_client.embeddings(model=SMOL, prompt="The sky is blue.").embedding
    norm = math.sqrt(sum(x * x for x in legacy))
    cosine = sum(a * b for a, b in zip(legacy, r.embeddings[0])) / norm
    assert cosine > 0.999


def test_copy_then_delete(ollama_client):
    ollama_client.copy(SMOL, "compat-copy:latest")
    try:
        assert "compat-copy:latest" in [m.model for m in ollama_client.list().models]
        assert ollama_client.show("compat-copy:latest").details.quantization_level == "Q4_1"
    finally:
        ollama_client.delete("compat-copy:latest")
    assert "compat-copy:latest" not in [m.model for m in ollama_client.list().models]
    assert SMOL in [m.model for m in ollama_client.list().models]
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.delete("compat-copy:latest")
    assert e.value.status_code == 404
