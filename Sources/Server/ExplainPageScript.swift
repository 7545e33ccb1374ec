extension ExplainPage {
    /// The page's script. It draws the report embedded in the page, or in live mode builds one from the
    /// server's public API as the tokens stream in (see docs/EXPLAIN.md for the requests it makes).
    static let script = #"""
"use strict";
(() => {
  const app = document.getElementById("app");
  const live = app.dataset.mode === "live";
  const CHART_ROWS = 10;

  // ---------- small DOM helpers ----------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const pct = (p) => (p >= 0.9995 ? "100" : p < 0.0005 && p > 0 ? "<0.1" : (p * 100).toFixed(1)) + "%";
  const num = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));

  // A token's text with whitespace and control characters made visible; bytes that are not whole
  // UTF-8 (half a character) are shown as <0xNN>.
  function visible(piece, bytes) {
    if (bytes && bytes.length) return bytes.map((b) => "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">").join("");
    if (piece === "") return "∅";
    let out = "";
    for (const ch of piece) {
      const c = ch.codePointAt(0);
      if (ch === " ") out += "␣";
      else if (ch === "\n") out += "↵";
      else if (ch === "\t") out += "⇥";
      else if (ch === "\r") out += "␍";
      else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
      else out += ch;
    }
    return out;
  }
  const fatal = new TextDecoder("utf-8", { fatal: true });
  // Bytes to show instead of the text, when they are not whole UTF-8.
  function partialBytes(bytes) {
    if (!bytes || !bytes.length) return null;
    try { fatal.decode(new Uint8Array(bytes)); return null; } catch (_) { return bytes; }
  }
  // llama.cpp's /tokenize gives a piece as a string, or as its bytes when it is not whole UTF-8.
  function fromPiece(t) {
    if (Array.isArray(t.piece)) return { id: t.id, piece: "", bytes: t.piece, special: !!t.special };
    return { id: t.id, piece: t.piece, bytes: null, special: !!t.special };
  }

  // ---------- state ----------
  const state = { report: null, selected: -1, showTemplate: false, busy: false, promptIDs: null, request: null, forkTarget: null };

  // ---------- skeleton ----------
  const title = el("h1", { text: "See the model think" });
  const intro = el("p", { class: "sub" });
  const controlsCard = live ? buildControls() : null;
  const promptCard = el("section", { class: "card", id: "prompt", "aria-labelledby": "prompt-h" });
  const genCard = el("section", { class: "card", id: "generation", "aria-labelledby": "gen-h" });
  const detailCard = el("section", { class: "card", id: "detail", "aria-labelledby": "detail-h" });
  const howCard = el("section", { class: "card", id: "how" });
  app.append(title, intro);
  if (controlsCard) app.append(controlsCard);
  const layout = el("div", { class: "layout" }, el("div", {}, promptCard, genCard), detailCard);
  app.append(layout, howCard);
  renderHow();

  // ---------- section 1: the prompt as tokens ----------
  function renderPrompt() {
    const r = state.report;
    promptCard.replaceChildren();
    promptCard.append(el("h2", { id: "prompt-h", text: "1 · Your text becomes tokens" }));
    if (!r) return;
    const templated = state.showTemplate;
    const tokens = templated ? r.prompt_tokens : (r.message_tokens || r.prompt_tokens);
    const chars = [...(r.prompt || "")].length;
    promptCard.append(el("p", { class: "sub", text: templated
      ? `What the model actually reads: your text inside the ${r.chat ? "chat template" : "prompt"}, special tokens included — ${tokens ? tokens.length : "…"} token ids.`
      : `The tokenizer cuts your ${chars} character${chars === 1 ? "" : "s"} into ${tokens ? tokens.length : "…"} pieces from its vocabulary; the model only ever sees the numbers (ids).` }));
    const canToggle = !!r.prompt_tokens;
    const box = el("input", { type: "checkbox", id: "template-toggle", checked: templated, disabled: !canToggle,
      onchange: (e) => { state.showTemplate = e.target.checked; renderPrompt(); } });
    promptCard.append(el("label", { class: "toggle" }, box,
      r.chat ? "Show the chat-templated prompt, with its special tokens" : "Show the prompt as the model reads it (special tokens included)"));
    if (!canToggle) promptCard.append(el("span", { class: "muted", text: " (once the reply has finished)" }));
    const list = el("ol", { class: "chips", "aria-label": templated ? "Prompt tokens, as the model reads them" : "Tokens of your text" });
    for (const t of tokens || []) {
      const shown = visible(t.piece, t.bytes);
      list.append(el("li", { class: "chip" + (t.special ? " special" : ""), "data-id": t.id, "data-piece": t.piece,
        title: (t.special ? "special token " : "token ") + t.id },
        el("span", { class: "piece", text: shown }), el("span", { class: "id", text: String(t.id) })));
    }
    promptCard.append(list);
    promptCard.append(el("p", { class: "muted", text: "␣ is a space, ↵ a new line, <0xNN> one byte of a character split across tokens; dashed chips are special tokens." }));
  }

  // ---------- section 2: the generation ----------
  function renderGeneration() {
    const r = state.report;
    genCard.replaceChildren();
    genCard.append(el("h2", { id: "gen-h", text: "2 · The model picks one token at a time" }));
    if (!r) { genCard.append(el("p", { class: "muted", text: live ? "Pick a model, type a prompt and press Run." : "" })); return; }
    genCard.append(el("p", { class: "sub", text: "Each token is coloured, and underlined, by the probability the model gave it. Select one (click, tap, or Tab then ← →) to see what else it considered." }));
    genCard.append(el("div", { class: "legend", "aria-hidden": "true" }, "unlikely", el("span", { class: "ramp" }), "likely"));
    const row = el("div", { class: "gen", role: "group", "aria-label": "Generated tokens" });
    r.steps.forEach((s, i) => appendToken(row, s, i));
    genCard.append(row);
    genCard.append(el("p", { class: "summary", id: "summary", text: summaryText() }));
  }
  function tokenButton(s, i, onSelect) {
    const p = Math.exp(s.logprob);
    const b = el("button", { type: "button", class: "tok" + (s.special ? " special" : ""), "data-step": i, "data-id": s.id,
      "data-p": p, "aria-pressed": "false", "aria-label": `step ${i + 1}: ${visible(s.piece, s.bytes)}, probability ${pct(p)}`,
      title: `step ${i + 1} · id ${s.id} · p = ${pct(p)}` },
      el("span", { class: "txt", text: visible(s.piece, s.bytes) }), el("span", { class: "pct", text: pct(p) }));
    b.style.setProperty("--p", p.toFixed(4));
    if (onSelect) {
      b.addEventListener("click", () => onSelect(i));
      b.addEventListener("focus", () => onSelect(i));
    }
    return b;
  }
  // One Tab stop for the whole row (the selected token); the arrow keys move within it.
  function appendToken(row, s, i) {
    const b = tokenButton(s, i, select);
    b.tabIndex = i === Math.max(state.selected, 0) ? 0 : -1;
    b.addEventListener("keydown", (e) => {
      const n = state.report.steps.length;
      let j = null;
      if (e.key === "ArrowRight" || e.key === "ArrowDown") j = Math.min(i + 1, n - 1);
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp") j = Math.max(i - 1, 0);
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = n - 1;
      if (j !== null) { e.preventDefault(); genCard.querySelector(`.tok[data-step="${j}"]`).focus(); }
    });
    row.append(b);
    if (s.piece.includes("\n")) row.append(el("span", { class: "break" }));
  }
  function summaryText() {
    const r = state.report, m = r.summary;
    if (!m) return state.busy ? `${r.steps.length} tokens so far…` : "";
    const tps = m.tokens_per_second ? `${num(m.tokens_per_second, 1)} tokens/s` : "– tokens/s";
    return `${m.prompt_tokens} prompt tokens → ${m.generated_tokens} generated tokens · prompt ${num(m.prompt_seconds)} s · ` +
      `generation ${num(m.decode_seconds)} s · ${tps}` + (m.note ? ` (${m.note})` : "");
  }

  // ---------- section 3: one step ----------
  function select(i) {
    if (state.selected === i && detailCard.dataset.step === String(i)) return;
    state.selected = i;
    for (const b of genCard.querySelectorAll(".tok")) {
      const on = b.dataset.step === String(i);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    renderDetail();
  }
  function renderDetail() {
    const r = state.report;
    detailCard.replaceChildren();
    const i = state.selected;
    if (!r || i < 0 || i >= r.steps.length) {
      detailCard.append(el("h2", { id: "detail-h", text: "3 · Inside one step" }),
        el("p", { class: "muted", text: "Select a generated token to see the candidates, the sampling chain and the numbers behind it." }));
      return;
    }
    const s = r.steps[i];
    detailCard.dataset.step = String(i);
    const p = Math.exp(s.logprob);
    detailCard.append(el("h2", { id: "detail-h", text: `3 · Step ${i + 1} of ${r.steps.length}: “${visible(s.piece, s.bytes)}”` }));
    const rank = s.top.findIndex((c) => c.id === s.id);
    const facts = el("dl", { class: "facts" });
    const fact = (k, v, t) => facts.append(el("div", { title: t || null }, el("dt", { text: k }), el("dd", { text: v })));
    fact("chosen token", `${visible(s.piece, s.bytes)}  (id ${s.id})`);
    fact("probability", `${pct(p)}  (rank ${rank >= 0 ? rank + 1 : "> " + s.top.length})`);
    fact("log-probability", num(s.logprob, 3), "natural log of the probability");
    if (s.entropy !== undefined && s.entropy !== null) {
      fact(s.entropyBound ? "entropy (at least)" : "entropy", `${num(s.entropy, 2)} nats ≈ ${num(Math.exp(s.entropy), 1)} equally likely choices`,
        "how unsure the model is: 0 when it is certain");
    }
    if (s.cumulative_logprob !== undefined) fact("cumulative log-prob", num(s.cumulative_logprob, 3), "sum of the chosen tokens' log-probabilities so far: the log-probability of the whole reply up to here");
    detailCard.append(facts);
    if (s.top.length && s.top[0].id !== s.id) {
      const best = s.top[0];
      detailCard.append(el("p", { class: "note", role: "note" }, el("strong", { text: "Sampling picked a less likely token. " }),
        `The model’s favourite was “${visible(best.piece, best.bytes)}” (${pct(Math.exp(best.logprob))}), but the dice chose “${visible(s.piece, s.bytes)}” (${pct(p)}). ` +
        "With a temperature above 0 every token the chain keeps has a chance."));
    }
    // Bar chart of the top candidates.
    detailCard.append(el("h3", { text: `The ${Math.min(s.top.length, CHART_ROWS)} most likely next tokens` }));
    const list = el("ol", { class: "cands", "aria-label": "Most likely next tokens" });
    const rows = s.top.slice(0, CHART_ROWS);
    const chosenShown = rows.some((c) => c.id === s.id);
    for (const c of rows) list.append(candidateRow(c, c.id === s.id, i));
    if (!chosenShown) list.append(candidateRow({ id: s.id, piece: s.piece, bytes: s.bytes, logprob: s.logprob }, true, i));
    detailCard.append(list);
    detailCard.append(el("p", { class: "muted", id: "fork-help", text: live
      ? (state.busy ? "“What if?” works once the reply has finished." : "“What if?” continues the reply from that token instead, through the server’s /api/generate.")
      : "“What if?” needs a running model, so it is off in this saved file. Run `swiftlm serve` and open http://127.0.0.1:11434/explain to fork a reply at any step." }));
    if (state.forkTarget && state.forkTarget.step === i) detailCard.append(state.forkTarget.node);
    renderChain(s);
  }
  function candidateRow(c, chosen, step) {
    const p = Math.exp(c.logprob);
    const fork = el("button", { type: "button", class: "fork", "data-id": c.id, "aria-describedby": "fork-help",
      disabled: !live || state.busy || chosen || !state.promptIDs,
      "aria-label": `What if step ${step + 1} had been ${visible(c.piece, c.bytes)}?`,
      onclick: () => forkAt(step, c) }, chosen ? "chosen" : "What if?");
    return el("li", { class: "cand" + (chosen ? " chosen" : ""), "data-id": c.id, "data-p": p, "data-piece": c.piece },
      el("span", { class: "mark", "aria-label": chosen ? "chosen" : null, text: chosen ? "▶" : "" }),
      el("span", { class: "piece", text: visible(c.piece, c.bytes) }),
      el("span", { class: "id", text: "id " + c.id }),
      el("span", { class: "track", "aria-hidden": "true" }, (() => { const f = el("span", { class: "fill" }); f.style.width = (p * 100).toFixed(2) + "%"; return f; })()),
      el("span", { class: "num", text: pct(p) }),
      fork);
  }

  // The sampling chain: each knob's effect on the candidates, in the order the sampler applies them.
  const stageName = { model: "model", penalties: "penalties", top_k: "top-k", top_p: "top-p", min_p: "min-p", temperature: "temperature", greedy: "greedy" };
  function stageLabel(st) {
    const v = st.parameter;
    switch (st.stage) {
      case "top_k": return v > 0 ? `top-k = ${v}` : "top-k off";
      case "top_p": return v < 1 ? `top-p = ${num(v, 2)}` : "top-p off";
      case "min_p": return v > 0 ? `min-p = ${num(v, 2)}` : "min-p off";
      case "temperature": return `temperature = ${num(v, 2)}`;
      case "greedy": return "greedy (temperature 0)";
      default: return stageName[st.stage] || st.stage;
    }
  }
  function renderChain(s) {
    if (!s.sampling || !s.sampling.length) return;
    detailCard.append(el("h3", { text: "The sampling chain at this step" }));
    const greedy = s.sampling.some((st) => st.stage === "greedy");
    detailCard.append(el("p", { class: "sub", text: greedy
      ? "Temperature 0: no dice. The most likely token is taken, so the last column is 100% for it."
      : "Left to right, each knob reshapes the distribution (probabilities renormalised over what is left); the pick is drawn from the last column." }));
    if (s.chainNote) detailCard.append(el("p", { class: "muted", text: s.chainNote }));
    const head = el("tr", {}, el("th", { scope: "col", text: "token" }));
    for (const st of s.sampling) head.append(el("th", { scope: "col", class: /off/.test(stageLabel(st)) ? "off" : null, text: stageLabel(st) }));
    const body = el("tbody");
    const kept = el("tr", {}, el("th", { scope: "row", text: "tokens left" }));
    for (const st of s.sampling) kept.append(el("td", { text: st.kept === null ? "all" : String(st.kept) }));
    body.append(kept);
    const rows = s.top.slice(0, CHART_ROWS).map((c, j) => ({ c, j }));
    const chosenInRows = rows.some((r) => r.c.id === s.id);
    if (!chosenInRows) rows.push({ c: { id: s.id, piece: s.piece, bytes: s.bytes }, j: -1 });
    for (const { c, j } of rows) {
      const tr = el("tr", { class: c.id === s.id ? "chosen" : null, "data-id": c.id }, el("td", { text: (c.id === s.id ? "▶ " : "") + visible(c.piece, c.bytes) }));
      for (const st of s.sampling) {
        const q = j >= 0 ? st.p[j] : st.chosen_p;
        const td = el("td", { class: q > 0 ? null : "dropped", text: q > 0 ? pct(q) : "dropped" });
        if (q > 0) { const m = el("span", { class: "mini", "aria-hidden": "true" }); m.style.width = Math.max(q * 100, 1).toFixed(1) + "%"; td.append(m); }
        tr.append(td);
      }
      body.append(tr);
    }
    detailCard.append(el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Sampling chain table" },
      el("table", { class: "chain" }, el("thead", {}, head), body)));
  }

  // ---------- how to read it ----------
  function vocabText() {
    const st = state.report && state.report.steps.length && state.report.steps[0].sampling;
    const size = st && st[0].kept ? ` (${st[0].kept.toLocaleString("en-US")} for this model)` : "";
    return "A language model never sees letters. The tokenizer turns your text into token ids (section 1). The ids flow through " +
      `the network’s layers, and out comes one score for every token of the vocabulary${size}, which softmax turns into probabilities.`;
  }
  function renderHow() {
    howCard.replaceChildren(
      el("h2", { text: "What you are looking at" }),
      el("p", { id: "how-vocab", text: vocabText() }),
      el("p", { text: "Then one token is picked: greedily (the most likely) or by drawing from the distribution after the sampling knobs have reshaped it (section 3). The pick is appended to the text and the whole loop runs again. There are no rules or if-else anywhere: only these probabilities." }),
      el("p", { class: "muted", text: "Entropy measures how unsure the model was (0 nats: certain). Log-probabilities add up: the cumulative one is the log-probability of the whole reply so far." }));
  }

  function renderAll() {
    intro.textContent = state.report
      ? `${state.report.model || ""} · “${state.report.prompt || ""}”` + (state.report.chat ? " · chat template" : " · plain completion") +
        (state.report.options ? (state.report.options.greedy ? " · greedy" : ` · temperature ${num(state.report.options.temperature, 2)}`) : "")
      : (live ? "Served by swiftlm: every number comes from the server’s public API." : "");
    renderPrompt();
    renderGeneration();
    renderDetail();
    renderHow();
  }

  // ---------- live mode ----------
  function buildControls() {
    const f = el("form", { class: "card controls", id: "controls", "aria-label": "Run the model" });
    const field = (label, input, cls) => el("label", { class: cls || null }, label, input);
    const model = el("select", { id: "model", name: "model", required: true });
    const prompt = el("textarea", { id: "prompt-input", name: "prompt", required: true, placeholder: "Type a prompt, e.g. 早上好", rows: 2 });
    const chat = el("input", { type: "checkbox", id: "chat", checked: true });
    const n = (id, v, step, min, max) => el("input", { type: "number", id, value: v, step, min, max, inputmode: "decimal" });
    f.append(field("Model", model), field("Prompt", prompt, "wide"),
      field("Temperature", n("temperature", "0.8", "any", "0", "5")), field("Top-k (0 = off)", n("top_k", "40", "1", "0", "100000")),
      field("Top-p (1 = off)", n("top_p", "0.9", "any", "0.01", "1")), field("Min-p (0 = off)", n("min_p", "0", "any", "0", "1")),
      field("Max tokens", n("num_predict", "24", "1", "1", "512")),
      field("Seed (empty = random)", el("input", { type: "number", id: "seed", step: "1", min: "0", inputmode: "numeric" })),
      el("label", { class: "toggle" }, chat, "Chat template"),
      el("div", { class: "wide" }, el("button", { type: "submit", class: "primary", id: "run" }, "Run"), " ",
        el("button", { type: "button", class: "secondary", id: "stop", disabled: true, onclick: () => state.request && state.request.abort() }, "Stop")),
      el("p", { class: "status wide", id: "status", role: "status" }));
    f.addEventListener("submit", (e) => { e.preventDefault(); run(); });
    return f;
  }
  const $ = (id) => document.getElementById(id);
  function setStatus(text, error) { const s = $("status"); s.textContent = text; s.className = "status wide" + (error ? " error" : ""); }
  function settings() {
    const v = (id) => Number($(id).value);
    return { temperature: v("temperature"), top_k: v("top_k"), top_p: v("top_p"), min_p: v("min_p"), num_predict: v("num_predict"),
      // The page shows the chain without penalties, so it asks for none.
      repeat_penalty: 1, seed: $("seed").value === "" ? undefined : v("seed") };
  }
  async function postJSON(path, body, signal) {
    const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const j = await res.json(); msg = (j.error && (j.error.message || j.error)) || msg; } catch (_) {}
      throw new Error(msg);
    }
    return res;
  }
  // Reads an NDJSON stream, calling onObject for each line.
  async function readLines(res, onObject) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onObject(JSON.parse(line));
      }
    }
    if (buf.trim()) onObject(JSON.parse(buf));
  }
  // One step from an API log-probability entry ({id, token, logprob, bytes, top_logprobs}).
  function stepFromLogprob(e, opts, previous) {
    const tok = (t) => ({ id: t.id, piece: t.token, bytes: partialBytes(t.bytes), logprob: t.logprob });
    const top = (e.top_logprobs || []).map(tok);
    const s = tok(e);
    s.top = top;
    s.cumulative_logprob = (previous ? previous.cumulative_logprob : 0) + e.logprob;
    const probs = top.map((t) => Math.exp(t.logprob));
    const rest = Math.max(0, 1 - probs.reduce((a, b) => a + b, 0));
    // Entropy over the listed tokens plus the rest as one bucket: a lower bound of the true entropy.
    s.entropy = -probs.reduce((a, q) => a + (q > 0 ? q * Math.log(q) : 0), 0) - (rest > 0 ? rest * Math.log(rest) : 0);
    s.entropyBound = true;
    const chain = chainFromTop(top, s.id, opts);
    s.sampling = chain.stages;
    s.chainNote = `Computed by this page from the ${top.length} most likely tokens the API returned` +
      (rest > 0.0005 ? `; the other tokens hold ${pct(rest)} of the probability and are left out, so the columns after “model” are close, not exact.` : ".");
    return s;
  }
  // The server's chain (top-k → top-p → min-p → temperature, as Sampler applies it) over the listed tokens.
  function chainFromTop(top, chosenID, o) {
    const ids = top.map((t) => t.id);
    const logits = top.map((t) => t.logprob);
    const watch = (alive) => {
      const idx = ids.map((_, j) => j).filter((j) => alive[j]);
      const m = Math.max(...idx.map((j) => logits[j]));
      const w = ids.map((_, j) => (alive[j] ? Math.exp((logits[j] - m) / (alive.temp || 1)) : 0));
      const z = w.reduce((a, b) => a + b, 0) || 1;
      const p = w.map((x) => x / z);
      const ci = ids.indexOf(chosenID);
      return { p, chosen_p: ci >= 0 ? p[ci] : 0, kept: idx.length };
    };
    const model = top.map((t) => Math.exp(t.logprob));
    const ci = ids.indexOf(chosenID);
    const stages = [{ stage: "model", parameter: null, kept: null, p: model, chosen_p: ci >= 0 ? model[ci] : 0 }];
    if (o.temperature <= 0) {
      stages.push({ stage: "greedy", parameter: null, kept: 1, p: ids.map((_, j) => (j === 0 ? 1 : 0)), chosen_p: ci === 0 ? 1 : 0 });
      return { stages };
    }
    let alive = ids.map(() => true);
    if (o.top_k > 0) alive = alive.map((a, j) => a && j < o.top_k);
    stages.push(Object.assign({ stage: "top_k", parameter: o.top_k }, watch(alive)));
    if (o.top_p < 1) {
      const q = watch(alive).p;
      let cum = 0, keep = alive.filter(Boolean).length;
      for (let j = 0; j < q.length; j++) { if (!alive[j]) continue; cum += q[j]; if (cum >= o.top_p) { keep = j + 1; break; } }
      alive = alive.map((a, j) => a && j < Math.max(keep, 1));
    }
    stages.push(Object.assign({ stage: "top_p", parameter: o.top_p }, watch(alive)));
    if (o.min_p > 0) {
      const thr = logits[0] + Math.log(o.min_p);
      alive = alive.map((a, j) => a && logits[j] >= thr);
    }
    stages.push(Object.assign({ stage: "min_p", parameter: o.min_p }, watch(alive)));
    const t = alive.slice(); t.temp = o.temperature;
    stages.push(Object.assign({ stage: "temperature", parameter: o.temperature }, watch(t)));
    return { stages };
  }

  function setBusy(busy) {
    state.busy = busy;
    $("run").disabled = busy;
    $("stop").disabled = !busy;
    app.setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function loadModels() {
    try {
      const res = await fetch("/api/tags");
      const tags = await res.json();
      const select = $("model");
      // Encoders (BERT) only embed: they have no next-token probabilities to show.
      const names = (tags.models || []).filter((m) => !(m.details && m.details.family === "bert")).map((m) => m.name).sort();
      for (const name of names) select.append(el("option", { value: name, text: name }));
      const preferred = ["qwen2.5-coder:0.5b", "smollm2:135m"].find((n) => names.includes(n));
      if (preferred) select.value = preferred;
      if (!names.length) setStatus("No models yet: run `swiftlm pull qwen2.5-coder:0.5b` first.", true);
    } catch (err) {
      setStatus("Could not list the models: " + err.message, true);
    }
  }

  async function run() {
    const model = $("model").value, prompt = $("prompt-input").value;
    if (!model || !prompt) return;
    const opts = settings();
    const chat = $("chat").checked;
    state.report = { model, prompt, chat, options: { greedy: opts.temperature <= 0, temperature: opts.temperature },
      prompt_tokens: null, message_tokens: null, steps: [], summary: null };
    state.selected = -1; state.promptIDs = null; state.forkTarget = null; state.showTemplate = false;
    state.settings = opts;
    const controller = new AbortController();
    state.request = controller;
    setBusy(true);
    renderAll();
    setStatus("Tokenizing…");
    try {
      const tk = await (await postJSON("/tokenize", { model, content: prompt, add_special: false, parse_special: false, with_pieces: true }, controller.signal)).json();
      state.report.message_tokens = tk.tokens.map(fromPiece);
      renderPrompt();
      setStatus("Generating… (the first token waits for the model to load and read the prompt)");
      const res = await postJSON("/api/generate", { model, prompt, raw: !chat, stream: true, logprobs: true, top_logprobs: 20, options: opts }, controller.signal);
      const row = genCard.querySelector(".gen");
      let final = null;
      await readLines(res, (o) => {
        if (o.error) throw new Error(o.error);
        for (const e of o.logprobs || []) {
          const s = stepFromLogprob(e, opts, state.report.steps[state.report.steps.length - 1]);
          state.report.steps.push(s);
          appendToken(row, s, state.report.steps.length - 1);
          if (state.selected < 0) select(0);
        }
        $("summary").textContent = summaryText();
        if (o.done) final = o;
      });
      if (!final) throw new Error("the stream ended early");
      const ctx = final.context || [];
      state.promptIDs = ctx.slice(0, ctx.length - final.eval_count);
      const gen = Math.max(final.eval_count - 1, 0);
      state.report.summary = { prompt_tokens: state.promptIDs.length, generated_tokens: final.eval_count,
        prompt_seconds: final.prompt_eval_duration / 1e9, decode_seconds: final.eval_duration / 1e9,
        tokens_per_second: final.eval_duration > 0 && gen > 0 ? gen / (final.eval_duration / 1e9) : null };
      const dt = await (await postJSON("/detokenize", { model, tokens: state.promptIDs, with_pieces: true }, controller.signal)).json();
      state.report.prompt_tokens = dt.pieces.map(fromPiece);
      setStatus(`Done: ${final.eval_count} tokens (${final.done_reason}). Select a token, then “What if?” to fork.`);
    } catch (err) {
      setStatus(err.name === "AbortError" ? "Stopped." : "Error: " + err.message, err.name !== "AbortError");
    } finally {
      setBusy(false);
      const keep = state.selected;
      renderPrompt();
      $("summary") && ($("summary").textContent = summaryText());
      state.selected = -1;
      select(keep >= 0 ? keep : 0);
    }
  }

  // Continues the reply from `alt` instead of step `step`'s choice: the prompt's ids, the choices before
  // that step and the alternative go to /api/generate as `context`, raw, so the model reads exactly those ids.
  async function forkAt(step, alt) {
    if (!state.promptIDs || state.busy) return;
    const r = state.report;
    const context = state.promptIDs.concat(r.steps.slice(0, step).map((s) => s.id), [alt.id]);
    const node = el("div", { class: "forked card", id: "fork", "data-step": step, "data-alt": alt.id, "aria-live": "polite" });
    const heading = el("h3", { text: `What if step ${step + 1} had been “${visible(alt.piece, alt.bytes)}”?` });
    const row = el("div", { class: "gen", id: "fork-tokens" });
    const altStep = { id: alt.id, piece: alt.piece, bytes: alt.bytes, logprob: alt.logprob };
    const first = tokenButton(altStep, step, null);
    first.classList.add("chosen-alt");
    first.setAttribute("aria-label", `your choice: ${visible(alt.piece, alt.bytes)}, probability ${pct(Math.exp(alt.logprob))}`);
    row.append(first);
    const text = el("p", { class: "mono", id: "fork-text" });
    const status = el("p", { class: "muted", id: "fork-status", text: "Generating from your choice…" });
    node.append(heading, el("p", { class: "sub", text: "The reply up to here, then your choice, then what the model writes next:" }), row, text, status);
    state.forkTarget = { step, node };
    renderDetail();
    setBusy(true);
    const controller = new AbortController();
    state.request = controller;
    let continuation = "";
    try {
      const res = await postJSON("/api/generate", { model: r.model, prompt: "", raw: true, context, stream: true, logprobs: true,
        top_logprobs: 1, options: state.settings }, controller.signal);
      let final = null;
      let k = 0;
      await readLines(res, (o) => {
        if (o.error) throw new Error(o.error);
        continuation += o.response || "";
        for (const e of o.logprobs || []) {
          k++;
          row.append(tokenButton({ id: e.id, piece: e.token, bytes: partialBytes(e.bytes), logprob: e.logprob }, step + k, null));
        }
        if (o.done) final = o;
      });
      if (!final) throw new Error("the stream ended early");
      const used = final.context || [];
      const ok = used.length >= context.length && used[context.length - 1] === alt.id;
      node.dataset.verified = ok ? "true" : "false";
      text.textContent = alt.piece + continuation;
      status.textContent = ok
        ? `The model read your token (id ${alt.id}) at position ${context.length} and wrote ${final.eval_count} more.`
        : "The server did not keep the chosen token: this fork is not trustworthy.";
    } catch (err) {
      status.textContent = err.name === "AbortError" ? "Stopped." : "Error: " + err.message;
      status.classList.add("error");
    } finally {
      setBusy(false);
      node.dataset.done = "true";
      const keep = state.selected;
      state.selected = -1;
      select(keep);
    }
  }

  // ---------- start ----------
  if (live) {
    renderAll();
    loadModels();
  } else {
    const data = document.getElementById("report");
    state.report = JSON.parse(data.textContent);
    renderAll();
    if (state.report.steps.length) select(0);
  }
})();
"""#
}
