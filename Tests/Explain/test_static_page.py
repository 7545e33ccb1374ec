"""`swiftlm explain --html`: the saved page, opened in headless Chromium, against `explain --json`."""

from __future__ import annotations

import math

import pytest
from conftest import DESKTOP, PHONE, QWEN, SMOL, Recorder, platform_fonts, require_models, run_explain

CHART_ROWS = 10  # the page charts at most this many candidates per step


@pytest.fixture(scope="module")
def greedy_chat(tmp_path_factory):
    """The README's example: qwen2.5-coder:0.5b, "早上好", chat template, greedy."""
    require_models(QWEN)
    html = tmp_path_factory.mktemp("explain") / "explain.html"
    return run_explain([QWEN, "早上好", "--chat"], html), html


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """Sampling with every stage of the chain on, hot enough that some step picks a less likely token."""
    require_models(SMOL)
    html = tmp_path_factory.mktemp("explain") / "sampled.html"
    args = [SMOL, "Once upon a time", "--num-predict", "12", "--top", "8", "--temperature", "1.6", "--top-k", "30",
            "--top-p", "0.97", "--min-p", "0.01", "--seed", "4"]
    return run_explain(args, html), html


def open_page(browser, html, viewport=DESKTOP, **kw):
    page = browser.new_page(viewport=viewport, **kw)
    rec = Recorder(page)
    page.goto(html.as_uri())
    page.wait_for_selector("#generation .tok")
    return page, rec


def chips(page):
    return page.eval_on_selector_all("#prompt .chip", "cs => cs.map(c => [Number(c.dataset.id), c.dataset.piece, c.classList.contains('special')])")


def check_page_against_report(page, report):
    # 1. The prompt: the user's text as chips, then with the template toggled on.
    assert chips(page) == [[t["id"], t["piece"], bool(t.get("special"))] for t in report["message_tokens"]]
    page.click("#template-toggle")
    assert chips(page) == [[t["id"], t["piece"], bool(t.get("special"))] for t in report["prompt_tokens"]]
    page.click("#template-toggle")
    assert len(chips(page)) == len(report["message_tokens"])

    # 2. The generated tokens, in order.
    steps = report["steps"]
    toks = page.eval_on_selector_all("#generation .tok", "ts => ts.map(t => [Number(t.dataset.step), Number(t.dataset.id), Number(t.dataset.p)])")
    assert [t[:2] for t in toks] == [[i, s["id"]] for i, s in enumerate(steps)]
    for (_, _, p), s in zip(toks, steps):
        assert math.isclose(p, math.exp(s["logprob"]), rel_tol=1e-4)

    # 3. Every step, reached from the keyboard: its candidates, probabilities and chain.
    page.focus('#generation .tok[data-step="0"]')
    for i, s in enumerate(steps):
        if i:
            page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.step") == str(i)
        page.wait_for_selector(f'#detail[data-step="{i}"]')
        rows = page.eval_on_selector_all("#detail .cand", "rs => rs.map(r => [Number(r.dataset.id), r.dataset.piece, Number(r.dataset.p), r.classList.contains('chosen')])")
        top = s["top"][:CHART_ROWS]
        assert [r[:2] for r in rows[:len(top)]] == [[c["id"], c["piece"]] for c in top]
        for r, c in zip(rows, top):
            assert math.isclose(r[2], math.exp(c["logprob"]), rel_tol=1e-4)
        assert sum(r[2] for r in rows[:len(top)]) <= 1 + 1e-6
        assert [r[0] for r in rows if r[3]] == [s["id"]], "exactly the chosen token is marked"
        note = page.query_selector("#detail .note")
        assert (note is not None) == (s["top"][0]["id"] != s["id"]), f"step {i}: less-likely note"
        # The chain table: a column per stage, the chosen token's final probability as computed in Swift.
        header = page.eval_on_selector_all("#detail table.chain thead th", "hs => hs.map(h => h.textContent)")
        assert len(header) == 1 + len(s["sampling"])
        kept = page.eval_on_selector_all("#detail table.chain tbody tr:first-child td", "ds => ds.map(d => d.textContent)")
        assert kept == [str(st["kept"]) for st in s["sampling"]]
        # What-if needs a server: every fork button is off, with the reason next to it.
        assert page.eval_on_selector_all("#detail .fork", "bs => bs.every(b => b.disabled)")
        assert "swiftlm serve" in page.inner_text("#fork-help")


def test_greedy_chat_page_matches_the_report(browser, greedy_chat, artifacts):
    report, html = greedy_chat
    page, rec = open_page(browser, html)
    check_page_against_report(page, report)
    # A chat template wraps the text: more tokens, some of them special.
    assert len(report["prompt_tokens"]) > len(report["message_tokens"])
    assert any(t.get("special") for t in report["prompt_tokens"])
    summary = page.inner_text("#summary")
    assert f"{report['summary']['generated_tokens']} generated tokens" in summary and "tokens/s" in summary
    # "早上" and "好" are drawn with a CJK font, glyph for glyph, so they render as characters, not boxes.
    for token_id, glyphs in ((105083, 2), (52801, 1)):
        fonts = platform_fonts(page, f'#prompt .chip[data-id="{token_id}"] .piece')
        assert fonts and all("CJK" in f["familyName"] for f in fonts), f"{token_id}: {fonts}"
        assert sum(f["glyphCount"] for f in fonts) == glyphs, f"{token_id}: {fonts}"
    page.focus('#generation .tok[data-step="0"]')
    page.screenshot(path=str(artifacts / "explain-desktop.png"), full_page=True)
    rec.assert_clean()
    assert rec.requests == [html.as_uri()], f"the saved page fetched {rec.requests}"
    page.close()


def test_phone_width_and_dark_theme(browser, greedy_chat, artifacts):
    report, html = greedy_chat
    page, rec = open_page(browser, html, viewport=PHONE, color_scheme="dark")
    # Nothing wider than the phone (the chain table scrolls inside its own box).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(251, 251, 250)", "dark theme not applied"
    page.focus('#generation .tok[data-step="1"]')
    # The focused token shows its probability as a number, not only as a colour.
    assert page.is_visible('#generation .tok[data-step="1"] .pct')
    page.screenshot(path=str(artifacts / "explain-phone.png"), full_page=True)
    rec.assert_clean()
    page.close()


def test_sampled_page_shows_the_chain(browser, sampled, artifacts):
    report, html = sampled
    stages = [st["stage"] for st in report["steps"][0]["sampling"]]
    assert stages == ["model", "penalties", "top_k", "top_p", "min_p", "temperature"]
    assert any(s["top"][0]["id"] != s["id"] for s in report["steps"]), "seed 4 at temperature 1.6 should pick a less likely token"
    for s in report["steps"]:
        for st in s["sampling"]:
            assert sum(st["p"]) <= 1 + 1e-9
    page, rec = open_page(browser, html)
    check_page_against_report(page, report)
    first_unlikely = next(i for i, s in enumerate(report["steps"]) if s["top"][0]["id"] != s["id"])
    page.focus(f'#generation .tok[data-step="{first_unlikely}"]')
    assert "less likely" in page.inner_text("#detail .note")
    page.screenshot(path=str(artifacts / "explain-sampled.png"), full_page=True)
    rec.assert_clean()
    assert rec.requests == [html.as_uri()]
    page.close()
