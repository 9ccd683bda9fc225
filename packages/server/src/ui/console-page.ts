import { CONSOLE_CORE_SCRIPT } from './console-script-core';
import { CONSOLE_RENDER_SCRIPT } from './console-script-render';
import { CONSOLE_STEER_SCRIPT } from './console-script-steer';
import { CONSOLE_STYLE } from './console-style';

/**
 * The Ferry console: one self-contained page (no build step, nothing fetched from elsewhere).
 * It holds no data; everything it shows and does goes through the authenticated API.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry console</title>
<style>${CONSOLE_STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the conversation</a>
<aside aria-label="Conversations">
  <h1>Ferry <span id="mode" class="badge"></span></h1>
  <div id="where" class="where"></div>
  <ul id="conversations"></ul>
</aside>
<main id="main" tabindex="-1">
  <header class="conversation">
    <h2 id="title">Pick a conversation</h2>
    <span id="status" class="status" hidden></span>
    <span id="conversation-id" class="id"></span>
  </header>
  <p id="totals" class="summary-line"></p>
  <div class="journey-line"><span class="muted">Journey</span><ol id="journey" class="journey" aria-label="Journey"></ol></div>
  <div id="parked" class="banner parked" role="note" hidden></div>
  <p id="notice" role="status" aria-live="polite"></p>
  <section id="confirm" class="panel confirm" aria-labelledby="confirm-title" hidden>
    <h3 id="confirm-title">Waiting for your confirmation</h3>
    <ul id="pending"></ul>
    <form id="confirm-form">
      <label>Reason (sent to the agent when you reject)<input id="reject-reason" type="text" autocomplete="off"></label>
      <button id="accept" type="button" class="primary">Accept</button>
      <button id="reject" type="button" class="danger">Reject</button>
    </form>
  </section>
  <section id="steer" class="panel" aria-label="Steer" hidden>
    <form id="message-form" class="controls">
      <textarea id="message" aria-label="Message to the agent" placeholder="Message the agent (Ctrl+Enter sends and runs)"></textarea>
      <div class="buttons">
        <button id="send" type="submit" class="primary">Send and run</button>
        <button id="run" type="button">Run</button>
        <button id="pause" type="button">Pause</button>
        <button id="interrupt" type="button" class="danger">Interrupt</button>
      </div>
    </form>
    <div class="more">
      <details id="switch-llm">
        <summary>Switch the LLM</summary>
        <form id="llm-form">
          <label>Model<input id="llm-model" type="text" placeholder="openai/gpt-4.1-mini" autocomplete="off" required></label>
          <label>Base URL (optional)<input id="llm-base-url" type="url" autocomplete="off"></label>
          <label>API key (sent once, never shown)<input id="llm-api-key" type="password" autocomplete="off"></label>
          <button type="submit">Switch</button>
        </form>
      </details>
      <details id="teleport">
        <summary>Teleport to another Ferry server</summary>
        <form id="teleport-form">
          <label>Server URL<input id="teleport-to" type="url" placeholder="https://ferry.example.com" autocomplete="off" required></label>
          <label>Its API key<input id="teleport-api-key" type="password" autocomplete="off"></label>
          <label>Working folder there (optional)<input id="teleport-working-dir" type="text" autocomplete="off"></label>
          <label>LLM API key there (optional)<input id="teleport-llm-key" type="password" autocomplete="off"></label>
          <button type="submit">Teleport</button>
        </form>
      </details>
    </div>
  </section>
  <div id="timeline"></div>
  <p id="activity" class="activity" hidden><span class="dot" aria-hidden="true"></span>Running: new events appear as they happen.</p>
</main>
<div id="login" hidden>
  <form id="login-form" aria-labelledby="login-title">
    <b id="login-title">Ferry console</b>
    <label for="api-key">Session API key</label>
    <input id="api-key" type="password" autocomplete="off">
    <span id="login-message" class="muted"></span>
    <button type="submit" class="primary">Open</button>
  </form>
</div>
<script>${CONSOLE_CORE_SCRIPT}${CONSOLE_RENDER_SCRIPT}${CONSOLE_STEER_SCRIPT}</script>
</body>
</html>`;
