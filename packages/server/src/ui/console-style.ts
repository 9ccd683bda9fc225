/** The console's stylesheet: one laptop-sized layout, readable contrast, visible focus. */
export const CONSOLE_STYLE = `
:root { --ink: #1d2330; --muted: #5d6676; --line: #dde2ea; --soft: #f4f6f9; --blue: #1b4fd8;
  --orange: #c2410c; --red: #b42318; --red-soft: #fdecea; --green: #127a3a; --green-soft: #dcf5e5;
  --amber-soft: #fff3c4; --code: #0f172a; --code-ink: #e2e8f0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0; color: var(--ink);
  display: grid; grid-template-columns: 270px minmax(0, 1fr); min-height: 100vh; background: white; }
a { color: var(--blue); }
:focus-visible { outline: 3px solid #7aa2ff; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: white; padding: 4px 8px; z-index: 5; }
aside { background: var(--soft); padding: 16px 14px; border-right: 1px solid var(--line); }
aside h1 { font-size: 18px; margin: 0; display: flex; align-items: baseline; gap: 8px; }
aside .where { font-size: 12px; color: var(--muted); margin: 4px 0 12px; word-break: break-all; }
aside ul { list-style: none; padding: 0; margin: 0; }
aside li a { display: grid; gap: 3px; padding: 7px 8px; border-radius: 6px; text-decoration: none; color: var(--ink); justify-items: start; }
aside li a:hover { background: #e8ecf3; } aside li a[aria-current=page] { background: #dfe7fb; }
aside li .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
main { padding: 16px 28px 40px; min-width: 0; }
header.conversation { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
header.conversation h2 { margin: 0; font-size: 20px; }
.id { font: 12px ui-monospace, monospace; color: var(--muted); }
.status { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #e6e9ef; white-space: nowrap; }
.status-finished { background: var(--green-soft); } .status-running { background: var(--amber-soft); }
.status-waiting_for_confirmation { background: #ffe3c2; } .status-paused { background: #e4e0fb; }
.status-error, .status-stuck { background: #fddede; } .status-parked { background: #dde3ec; color: #39414f; }
.badge { font-size: 11px; padding: 0 6px; border-radius: 8px; background: #e6e9ef; color: #39414f; }
.summary-line { color: var(--muted); margin: 6px 0 0; }
.journey-line { display: flex; gap: 10px; align-items: center; margin: 10px 0 0; }
.journey { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 0; padding: 0; list-style: none; }
.journey li { display: flex; align-items: center; gap: 6px; }
.journey li + li::before { content: '→'; color: var(--muted); }
.stop { border: 1px solid var(--line); border-radius: 14px; padding: 1px 10px; font-size: 12px; background: white; }
.stop.here { border-color: var(--blue); }
.banner { margin: 12px 0 0; padding: 10px 14px; border-radius: 8px; background: #eef2f8; border: 1px solid #d3dbe8; }
.banner.parked { background: #f1f3f6; }
#notice { min-height: 1.4em; margin: 6px 0 0; color: var(--muted); } #notice.error { color: var(--red); }
.panel { border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; margin: 14px 0 0; background: #fbfcfe; }
.panel h3 { margin: 0 0 8px; font-size: 14px; }
.controls { display: grid; grid-template-columns: 1fr auto; gap: 10px; align-items: start; }
.controls textarea { width: 100%; min-height: 44px; resize: vertical; font: inherit; padding: 8px; border: 1px solid #c7cfdb; border-radius: 6px; }
.buttons { display: flex; gap: 6px; flex-wrap: wrap; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #b9c2d0; background: white; cursor: pointer; }
button:hover:not(:disabled) { background: #eef2f8; } button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--blue); border-color: var(--blue); color: white; } button.primary:hover:not(:disabled) { background: #163fae; }
button.danger { color: var(--red); border-color: #e6b4ae; }
input[type=text], input[type=password], input[type=url] { font: inherit; padding: 6px 8px; border: 1px solid #c7cfdb; border-radius: 6px; min-width: 0; }
.more { display: flex; gap: 10px; flex-wrap: wrap; margin-top: 10px; }
.more details { border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; background: white; }
.more details[open] { flex-basis: 100%; }
.more summary { cursor: pointer; font-weight: 600; font-size: 13px; }
.more form { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 8px; margin: 8px 0 2px; align-items: end; }
.more label, .confirm label { display: grid; gap: 2px; font-size: 12px; color: var(--muted); }
.confirm { border-color: #f0b46b; background: #fff8ee; }
.confirm ul { margin: 0 0 10px; padding-left: 18px; }
.confirm form { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; }
.confirm form label { flex: 1 1 220px; } .confirm code { background: #f4e7d6; padding: 0 4px; border-radius: 3px; }
.risk { font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 8px; background: #e6e9ef; }
.risk-LOW { background: var(--green-soft); color: var(--green); } .risk-MEDIUM { background: var(--amber-soft); color: #8a5a00; }
.risk-HIGH { background: var(--red-soft); color: var(--red); }
.band { border-left: 4px solid var(--blue); margin: 18px 0; padding: 6px 14px 8px; background: #fafbfd; border-radius: 0 8px 8px 0; }
.band.colour-1 { border-left-color: #7c3aed; } .band.colour-2 { border-left-color: #0f766e; } .band.colour-3 { border-left-color: #be185d; }
.band.place-LOCAL { border-left-color: var(--orange); }
.parked-view .fork { display: none; }
.band-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; margin: 2px 0 6px; }
.place { margin: 0; font-size: 12px; letter-spacing: .08em; color: var(--muted); }
.place-where { font-size: 12px; color: var(--muted); word-break: break-all; }
.band-stats { margin-left: auto; font-size: 12px; color: var(--muted); }
.event { display: grid; grid-template-columns: 74px 110px minmax(0, 1fr) auto; gap: 10px; padding: 6px 0; border-top: 1px dashed var(--line); align-items: start; }
.event > b { font-weight: 600; }
.event p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.event.failed > b, .event.error > b { color: var(--red); }
.event.user > b { color: var(--blue); }
.time { color: #7b8494; font-size: 12px; font-variant-numeric: tabular-nums; }
.fork { font-size: 12px; padding: 1px 8px; opacity: 0; }
.event:hover .fork, .fork:focus { opacity: 1; }
.action-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.action-head code { font: 13px ui-monospace, monospace; background: #eef1f6; padding: 1px 6px; border-radius: 4px; overflow-wrap: anywhere; }
pre { margin: 6px 0 0; padding: 8px 10px; background: var(--code); color: var(--code-ink); border-radius: 6px; overflow: auto;
  font: 12.5px/1.45 ui-monospace, 'SFMono-Regular', Menlo, monospace; max-height: 420px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.failed, pre.error { background: #3b0d0d; }
.exit { font: 12px ui-monospace, monospace; padding: 0 6px; border-radius: 8px; background: var(--green-soft); color: var(--green); }
.exit.failed { background: var(--red-soft); color: var(--red); font-weight: 700; }
details.fold > summary { cursor: pointer; color: var(--blue); font-size: 12px; margin-top: 4px; }
.diff { background: #fbfcfe; color: var(--ink); border: 1px solid var(--line); }
.diff span { display: block; } .diff .add { background: #e3f7e8; color: #0b5d2a; } .diff .del { background: #fde8e6; color: #9b1c1c; }
.diff .gap { color: var(--muted); } .diff .file { color: var(--muted); font-weight: 600; }
.muted { color: var(--muted); }
.activity { color: var(--muted); display: flex; gap: 8px; align-items: center; margin: 0 0 0 18px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #e0a100; animation: pulse 1.2s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .3; } }
@media (prefers-reduced-motion: reduce) { .dot { animation: none; } }
#login { position: fixed; inset: 0; background: rgba(15,23,42,.5); display: grid; place-items: center; }
#login[hidden] { display: none; }
#login form { background: white; padding: 22px; border-radius: 10px; display: grid; gap: 8px; min-width: 340px; }
[hidden] { display: none !important; }
`;
