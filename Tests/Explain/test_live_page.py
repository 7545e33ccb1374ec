"""`GET /explain` on a real `swiftlm serve`: pick a model, type a prompt, watch the steps stream in,
then fork at a step and check the continuation starts with the chosen token."""

from __future__ import annotations

import math
import re

from conftest import DESKTOP, PHONE, SMOL, Recorder, post

PROMPT = "What is the capital of France?"
SETTINGS = {"temperature": 0.8, "top_k": 40, "top_p": 0.9, "min_p": 0.05, "num_predict": 12, "repeat_penalty": 1, "seed": 7}


def fill_and_run(page, url):
    page.goto(url + "/explain")
    page.wait_for_selector(f'#model option[value="{SMOL}"]', state="attached")
    page.select_option("#model", SMOL)
    page.fill("#prompt-input", PROMPT)
    for field in ("temperature", "top_k", "top_p", "min_p", "num_predict", "seed"):
        page.fill(f"#{field}", str(SETTINGS[field]))
    # Record when each generated token appears, to tell a stream from one late batch.
    page.evaluate("""() => {
        window.__arrivals = [];
        new MutationObserver(ms => { for (const m of ms) for (const n of m.addedNodes)
            if (n.classList && n.classList.contains('tok') && n.closest('#generation')) window.__arrivals.push(performance.now()); })
          .observe(document.getElementById('generation'), { childList: true, subtree: true });
    }""")
    page.click("#run")
    # (wait_for_function would need eval, which the page's Content-Security-Policy forbids.)
    page.locator("#status", has_text=re.compile(r"^(Done|Error|Stopped)")).wait_for(timeout=240_000)
    status = page.inner_text("#status")
    assert status.startswith("Done"), status


def test_live_page_streams_and_forks(browser, server, artifacts):
    page = browser.new_page(viewport=DESKTOP)
    rec = Recorder(page)
    fill_and_run(page, server)

    # The same request through the API: the page must show exactly what the API returns.
    objs = post(server + "/api/generate", {"model": SMOL, "prompt": PROMPT, "stream": True, "logprobs": True,
                                           "top_logprobs": 20, "options": SETTINGS})
    entries = [e for o in objs for e in o.get("logprobs", [])]
    final = objs[-1]
    assert final["done"] and len(entries) == final["eval_count"] > 3
    toks = page.eval_on_selector_all("#generation .tok", "ts => ts.map(t => [Number(t.dataset.id), Number(t.dataset.p)])")
    assert [t[0] for t in toks] == [e["id"] for e in entries]
    for (_, p), e in zip(toks, entries):
        assert math.isclose(p, math.exp(e["logprob"]), rel_tol=1e-4)

    # Steps streamed in: they arrived over time, not all at once at the end.
    arrivals = page.evaluate("window.__arrivals")
    assert len(arrivals) == len(entries)
    assert arrivals[-1] - arrivals[0] > 50, f"all tokens arrived together: {arrivals}"

    # The prompt chips: the user's text, then (toggled) the templated prompt the server evaluated.
    prompt_ids = final["context"][: len(final["context"]) - final["eval_count"]]
    page.click("#template-toggle")
    chip_ids = page.eval_on_selector_all("#prompt .chip", "cs => cs.map(c => Number(c.dataset.id))")
    assert chip_ids == prompt_ids
    page.click("#template-toggle")

    # Each step's candidates are the API's top logprobs.
    step = 1
    page.focus(f'#generation .tok[data-step="{step}"]')
    page.wait_for_selector(f'#detail[data-step="{step}"]')
    rows = page.eval_on_selector_all("#detail .cand", "rs => rs.map(r => [Number(r.dataset.id), Number(r.dataset.p)])")
    top = entries[step]["top_logprobs"][:10]
    assert [r[0] for r in rows[: len(top)]] == [t["id"] for t in top]
    assert sum(r[1] for r in rows[: len(top)]) <= 1 + 1e-6
    # The chain, computed by the page from the top logprobs: model, top-k, top-p, min-p, temperature.
    assert page.eval_on_selector_all("#detail table.chain thead th", "hs => hs.length") == 1 + 5
    page.screenshot(path=str(artifacts / "explain-live-desktop.png"), full_page=True)

    # Fork at that step on the most likely candidate that was not drawn (sampling may have drawn the
    # second one: its fork button is then disabled, marked "chosen").
    alt = next(t for t in top if t["id"] != entries[step]["id"])
    page.click(f'#detail .cand[data-id="{alt["id"]}"] .fork')
    page.wait_for_selector("#fork[data-done='true']", timeout=240_000)
    assert page.get_attribute("#fork", "data-verified") == "true", page.inner_text("#fork")
    fork_ids = page.eval_on_selector_all("#fork-tokens .tok", "ts => ts.map(t => Number(t.dataset.id))")
    assert fork_ids[0] == alt["id"] and len(fork_ids) > 1, fork_ids
    # textContent, not innerText: the rendered text drops a leading space, and many tokens start with one.
    text = page.text_content("#fork-text")
    assert text.startswith(alt["token"])
    # And it is what the API gives for that context (same seed, so the same draws).
    context = prompt_ids + [e["id"] for e in entries[:step]] + [alt["id"]]
    again = post(server + "/api/generate", {"model": SMOL, "prompt": "", "raw": True, "context": context,
                                            "stream": False, "options": SETTINGS})[0]
    assert text == alt["token"] + again["response"]
    page.screenshot(path=str(artifacts / "explain-live-fork.png"), full_page=True)

    rec.assert_clean()
    assert all(u.startswith(server + "/") for u in rec.requests), rec.requests
    page.close()


def test_live_page_at_phone_width(browser, server, artifacts):
    page = browser.new_page(viewport=PHONE)
    rec = Recorder(page)
    fill_and_run(page, server)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.keyboard.press("Tab")  # the controls and tokens are reachable from the keyboard
    page.screenshot(path=str(artifacts / "explain-live-phone.png"), full_page=True)
    rec.assert_clean()
    page.close()
