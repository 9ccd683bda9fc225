import { VIEWER_SCRIPT } from './viewer-script';

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 280px 1fr; min-height: 100vh; color: #1d2330; }
aside { background: #f3f5f8; padding: 16px; border-right: 1px solid #dde2ea; }
aside h1 { font-size: 18px; margin: 0 0 12px; }
aside ul { list-style: none; padding: 0; margin: 0; }
aside li { display: flex; justify-content: space-between; gap: 8px; padding: 6px 0; border-bottom: 1px solid #e6e9ef; }
aside a { color: #1b4fd8; text-decoration: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
main { padding: 16px 24px; }
header { display: flex; gap: 16px; align-items: baseline; }
.status { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #e6e9ef; }
.status-finished { background: #d5f5e0; } .status-running { background: #fff1c2; } .status-error, .status-stuck { background: #fddede; }
.band { border-left: 4px solid #1b4fd8; margin: 16px 0; padding: 4px 12px; background: #fafbfd; }
.band:nth-of-type(even) { border-left-color: #c2410c; }
.place { margin: 4px 0 8px; font-size: 12px; letter-spacing: .08em; color: #5b6475; }
.event { display: grid; grid-template-columns: 150px 130px 1fr; gap: 8px; padding: 4px 0; border-top: 1px dashed #e6e9ef; }
.event p { margin: 0; white-space: pre-wrap; }
.time { color: #8a93a3; font-size: 12px; }
pre { margin: 4px 0; padding: 6px; background: #0f172a; color: #e2e8f0; border-radius: 4px; overflow: auto; max-height: 320px; }
pre.error { background: #3b0d0d; }
.teleport b, .agent-change b { color: #c2410c; }
.muted { color: #8a93a3; }
#login { position: fixed; inset: 0; background: rgba(15,23,42,.5); display: grid; place-items: center; }
#login[hidden] { display: none; }
#login form { background: white; padding: 20px; border-radius: 8px; display: grid; gap: 8px; min-width: 320px; }
`;

/** The conversation viewer page: a live timeline of a conversation, teleport hops as bands. */
export const VIEWER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry conversations</title>
<style>${STYLE}</style>
</head>
<body>
<aside>
  <h1>Ferry</h1>
  <ul id="conversations"></ul>
</aside>
<main>
  <header><h2 id="title">Pick a conversation</h2><span id="status" class="status"></span></header>
  <div id="stats" class="muted"></div>
  <div id="timeline"></div>
</main>
<div id="login" hidden>
  <form id="login-form">
    <label for="api-key">Session API key</label>
    <input id="api-key" type="password" autocomplete="off">
    <span id="login-message" class="muted"></span>
    <button type="submit">Open</button>
  </form>
</div>
<script>${VIEWER_SCRIPT}</script>
</body>
</html>`;
