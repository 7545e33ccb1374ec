extension ExplainPage {
    /// The page's style sheet: light and dark themes from the system, one column at phone width.
    static let style = #"""
:root {
  color-scheme: light dark;
  --bg: #fbfbfa; --fg: #1b1b1f; --muted: #5d5f66; --card: #ffffff; --line: #d9d9de;
  --accent: #1f5fbf; --accent-fg: #ffffff; --lo: #fde7c8; --hi: #9cc2ff; --bar: #3b78d8; --warn: #8a4b00;
  --special: #6b3fa0; --focus: #d4480b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15161a; --fg: #e9e9ec; --muted: #a4a6ad; --card: #1f2026; --line: #3a3b44;
    --accent: #7fb0ff; --accent-fg: #0b1730; --lo: #4a3418; --hi: #23467e; --bar: #7fb0ff; --warn: #ffb561;
    --special: #c6a4f2; --focus: #ff9b61;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 .3rem; }
h2 { font-size: 1.1rem; margin: 0 0 .4rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
p { margin: .3rem 0; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .8rem 1rem; margin: .8rem 0; }
.sub { color: var(--muted); font-size: .95rem; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
button { font: inherit; color: inherit; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.3fr); gap: 0 1rem; align-items: start; }
@media (max-width: 56rem) { .layout { grid-template-columns: minmax(0, 1fr); } }

/* Prompt chips */
.chips { list-style: none; padding: 0; margin: .4rem 0; display: flex; flex-wrap: wrap; gap: .35rem; }
.chip { display: inline-flex; flex-direction: column; align-items: center; border: 1px solid var(--line);
  border-radius: .4rem; padding: .15rem .45rem; background: var(--bg); min-width: 2.2rem; }
.chip .piece { font-family: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; white-space: pre; font-size: 1.05rem; }
.chip .id { font-size: .75rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.chip.special { border-style: dashed; border-color: var(--special); }
.chip.special .piece { color: var(--special); }
.toggle { display: inline-flex; gap: .4rem; align-items: center; margin: .3rem 0; }

/* Generated tokens */
.gen { display: flex; flex-wrap: wrap; gap: .2rem; margin: .5rem 0; align-items: flex-end; }
.tok { position: relative; border: 1px solid var(--line); border-radius: .3rem; padding: .1rem .3rem .35rem;
  cursor: pointer; white-space: pre; font-size: 1.05rem; line-height: 1.3;
  background: color-mix(in oklab, var(--hi) calc(var(--p) * 100%), var(--lo)); }
.tok::after { content: ""; position: absolute; left: 0; bottom: 0; height: 4px; border-radius: 0 0 .3rem .3rem;
  width: calc(var(--p) * 100%); background: var(--bar); }
.tok .pct { display: none; font-size: .75rem; margin-left: .25rem; font-variant-numeric: tabular-nums; }
.tok:hover .pct, .tok:focus .pct, .tok[aria-pressed="true"] .pct, .numbers .tok .pct { display: inline; }
.tok[aria-pressed="true"] { outline: 2px solid var(--fg); }
.tok.special { border-style: dashed; }
.break { flex-basis: 100%; height: 0; }
.legend { display: flex; align-items: center; gap: .4rem; font-size: .85rem; color: var(--muted); flex-wrap: wrap; }
.legend .ramp { width: 8rem; height: .8rem; border-radius: .2rem; border: 1px solid var(--line);
  background: linear-gradient(to right, var(--lo), var(--hi)); }

/* Step detail */
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .3rem .8rem; margin: .4rem 0; padding: 0; }
.facts div { border-left: 3px solid var(--line); padding-left: .5rem; }
.facts dt { font-size: .8rem; color: var(--muted); }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.note { border-left: 4px solid var(--warn); padding: .3rem .6rem; margin: .4rem 0; }
.note strong { color: var(--warn); }
.cands { list-style: none; padding: 0; margin: .4rem 0; }
.cand { display: grid; grid-template-columns: 1.2rem minmax(4rem, 9rem) 5.4rem minmax(3rem, 1fr) 4.2rem auto; gap: .35rem;
  align-items: center; padding: .12rem 0; }
.cand .mark { font-weight: bold; color: var(--accent); }
.cand .piece { font-family: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; white-space: pre; overflow: hidden; text-overflow: ellipsis; }
.cand .id { white-space: nowrap; font-size: .8rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.cand .track { height: .9rem; background: color-mix(in oklab, var(--line) 45%, transparent); border-radius: .2rem; overflow: hidden; }
.cand .fill { display: block; height: 100%; background: var(--bar); }
.cand.chosen .fill { background: var(--accent); }
.cand.chosen { font-weight: 600; }
.cand .num { text-align: right; font-variant-numeric: tabular-nums; }
.fork { font-size: .8rem; padding: .1rem .45rem; border-radius: .3rem; border: 1px solid var(--accent); background: transparent; color: var(--accent); cursor: pointer; }
.fork:disabled { border-color: var(--line); color: var(--muted); cursor: not-allowed; }
@media (max-width: 30rem) {
  .cand { grid-template-columns: 1rem minmax(3rem, 1fr) 4.6rem 3.6rem auto; }
  .cand .track { grid-column: 2 / -1; grid-row: 2; }
}
.scroll { overflow-x: auto; }
table.chain { border-collapse: collapse; font-size: .84rem; min-width: 100%; }
.chain th, .chain td { border-bottom: 1px solid var(--line); padding: .2rem .3rem; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.chain th:first-child, .chain td:first-child { text-align: left; }
.chain td .mini { display: block; height: 3px; background: var(--bar); margin-top: 2px; }
.chain td.dropped { color: var(--muted); text-decoration: line-through; }
.chain tr.chosen td:first-child { font-weight: 600; }
.chain .off { color: var(--muted); font-weight: normal; }

/* Live controls and fork */
form.controls { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: .5rem .8rem; align-items: end; }
form.controls label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
form.controls .wide { grid-column: 1 / -1; }
form.controls input, form.controls select, form.controls textarea { font: inherit; color: var(--fg); background: var(--bg);
  border: 1px solid var(--line); border-radius: .3rem; padding: .3rem .4rem; }
form.controls textarea { min-height: 3.2rem; resize: vertical; }
.primary { background: var(--accent); color: var(--accent-fg); border: 0; border-radius: .35rem; padding: .45rem .9rem; cursor: pointer; font-weight: 600; }
.secondary { background: transparent; border: 1px solid var(--line); border-radius: .35rem; padding: .45rem .9rem; cursor: pointer; }
.forked { margin-top: .6rem; }
.forked .chosen-alt { outline: 2px dashed var(--accent); }
.status { min-height: 1.4rem; }
.error { color: #c0392b; }
@media (prefers-color-scheme: dark) { .error { color: #ff8a80; } }
form.controls label.toggle { flex-direction: row; align-items: center; color: var(--fg); font-size: 1rem; }
"""#
}
