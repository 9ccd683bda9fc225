/**
 * The console's browser script, part 1: access (the API key), the API, the conversation list,
 * and the live feed of one conversation. Kept as strings so the server serves the page without
 * a build step; plain DOM, no framework. The parts share one script scope, in order: core,
 * render, steer.
 *
 * The API key comes from the login form or the URL fragment (`#key=...`), which browsers never
 * send to the server; it is kept in sessionStorage and removed from the address bar at once.
 * Requests send it as `X-Session-API-Key`, the events socket in its first frame.
 */
export const CONSOLE_CORE_SCRIPT = String.raw`
'use strict';
const $ = (selector) => document.querySelector(selector);
const keyName = 'ferry.session_api_key';
// Ferry's own clients ask for events as Ferry stores them (every field, TeleportEvent as is);
// by default the server shapes them for OpenHands' clients.
const FULL_EVENTS_QUERY = '&ferry_events=full';
const FULL_EVENTS_HEADERS = { 'X-Ferry-Events': 'full' };
const consoleInfo = { mode: 'server', read_only: false, place: location.origin };
let socket;
let view;

function apiKey() {
  return sessionStorage.getItem(keyName) || '';
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function api(path, options) {
  const method = (options && options.method) || 'GET';
  const headers = { 'X-Session-API-Key': apiKey(), ...FULL_EVENTS_HEADERS };
  const init = { method, headers };
  if (options && options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    showLogin('The API key was refused. Enter it again.');
    throw new ApiError('The API key was refused.', 'UNAUTHORIZED', 401);
  }
  const body = await response.text();
  let data = null;
  try { data = body ? JSON.parse(body) : null; } catch { data = null; }
  if (!response.ok) {
    const detail = data && (data.detail || data.message);
    throw new ApiError(typeof detail === 'string' ? detail : path + ': HTTP ' + response.status, data && data.code, response.status);
  }
  return data;
}

function notify(message, isError) {
  const notice = $('#notice');
  notice.textContent = message || '';
  notice.className = isError ? 'error' : '';
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#login-message').textContent = message || '';
  $('#api-key').focus();
}

// "#key=...&conversation=<id>" or "#<id>". The key never stays in the address bar or history.
function readFragment() {
  const raw = decodeURIComponent(location.hash.slice(1));
  if (!raw.includes('=')) return raw;
  const params = new URLSearchParams(raw);
  const id = params.get('conversation') || '';
  if (params.has('key')) sessionStorage.setItem(keyName, params.get('key'));
  history.replaceState(null, '', location.pathname + location.search + (id ? '#' + id : ''));
  return id;
}

function displayStatus(info) {
  return info.teleport ? 'parked' : info.execution_status;
}

function setBadge(badge, status) {
  badge.textContent = status;
  badge.className = 'status status-' + status;
  badge.hidden = false;
}

async function listConversations() {
  const page = await api('/api/conversations/search?limit=100&sort_order=UPDATED_AT_DESC');
  const list = $('#conversations');
  list.replaceChildren();
  for (const info of page.items) {
    const badge = el('span', { 'data-status-of': info.id });
    setBadge(badge, displayStatus(info));
    list.append(el('li', {},
      el('a', { href: '#' + info.id, title: info.id, 'aria-current': view && view.id === info.id ? 'page' : undefined },
        el('span', { class: 'name' }, info.title || info.id), badge)));
  }
  if (page.items.length === 0) list.append(el('li', { class: 'muted' }, 'No conversations yet.'));
}

function markCurrent() {
  for (const link of document.querySelectorAll('#conversations a')) {
    if (view && link.getAttribute('href') === '#' + view.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function stopFeed() {
  if (socket) {
    const old = socket;
    socket = undefined;
    old.close();
  }
  if (view && view.poll) clearTimeout(view.poll);
}

async function openConversation(id) {
  stopFeed();
  view = newView(id);
  markCurrent();
  $('#timeline').replaceChildren();
  notify('');
  const info = await api('/api/conversations/' + encodeURIComponent(id));
  if (!view || view.id !== id) return;
  applyInfo(info);
  if (consoleInfo.read_only) poll(id);
  else connect(id, undefined);
}

// Live: the events socket replays the log, then sends each new event as it is stored; after a
// dropped connection it resumes after the newest event shown.
function connect(id, afterEventId) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const cursor = afterEventId ? 'after_event_id=' + encodeURIComponent(afterEventId) : 'resend_mode=all';
  const ws = new WebSocket(scheme + '//' + location.host + '/sockets/events/' + encodeURIComponent(id) + '?' + cursor + FULL_EVENTS_QUERY);
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', session_api_key: apiKey() }));
  ws.onmessage = (message) => {
    if (ws !== socket) return;
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event.kind === 'ServerErrorEvent') notify(event.detail, true);
    // The state snapshot a subscriber gets first is not part of the log: no row, no cursor.
    else if (event.kind === 'ConversationStateUpdateEvent' && event.key === 'full_state') stateUpdate(event);
    else receive(event);
  };
  ws.onclose = (close) => {
    if (ws !== socket) return;
    socket = undefined;
    if (close.code === 4001) showLogin('The API key was refused. Enter it again.');
    else if (close.code === 4004) notify('This conversation is gone.', true);
    else if (close.code === 4029) notify(close.reason, true);
    else setTimeout(() => { if (!socket && view && view.id === id) connect(id, view.lastEventId); }, 1000);
  };
}

// A local folder has no socket: the console reads the log again every second for new events.
async function poll(id) {
  try {
    let pageId = view.lastEventId;
    for (;;) {
      const page = await api('/api/conversations/' + encodeURIComponent(id) + '/events/search?limit=100' + FULL_EVENTS_QUERY + (pageId ? '&page_id=' + encodeURIComponent(pageId) : ''));
      if (!view || view.id !== id) return;
      for (const event of page.items) receive(event);
      if (!page.next_page_id) break;
      pageId = page.next_page_id;
    }
    const info = await api('/api/conversations/' + encodeURIComponent(id));
    if (!view || view.id !== id) return;
    applyInfo(info);
  } catch (error) {
    if (error.status !== 401) notify(String(error.message), true);
  }
  if (view && view.id === id) view.poll = setTimeout(() => poll(id), 1000);
}

function receive(event) {
  if (!view || !event || !event.id || view.seen.has(event.id)) return;
  view.seen.add(event.id);
  view.lastEventId = event.id;
  render(event);
  scheduleRefresh();
}

async function refreshInfo() {
  if (!view) return;
  const id = view.id;
  const info = await api('/api/conversations/' + encodeURIComponent(id));
  if (view && view.id === id) applyInfo(info);
}

async function start() {
  try {
    Object.assign(consoleInfo, await api('/api/console'));
    $('#mode').textContent = consoleInfo.read_only ? 'read-only' : consoleInfo.mode;
    $('#where').textContent = consoleInfo.mode === 'local' ? consoleInfo.place : location.host;
    await listConversations();
    const id = readFragment();
    if (id) await openConversation(id);
  } catch (error) {
    if (error.status !== 401) notify(String(error.message), true);
  }
}

$('#login-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  sessionStorage.setItem(keyName, $('#api-key').value);
  $('#login').hidden = true;
  start();
});

window.addEventListener('hashchange', () => {
  const id = readFragment();
  if (id && (!view || view.id !== id)) openConversation(id).catch((error) => notify(String(error.message), true));
});

readFragment();
start();
`;
