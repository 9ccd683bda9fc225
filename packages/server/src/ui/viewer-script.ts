/**
 * The browser side of the conversation viewer, kept as a string so the server serves it
 * without a build step for the page. Plain DOM, no framework. It reads the API key once and
 * keeps it in sessionStorage; every request sends it as X-Session-API-Key, and the events
 * WebSocket sends it as `session_api_key`.
 */
export const VIEWER_SCRIPT = String.raw`
const $ = (selector) => document.querySelector(selector);
const keyName = 'ferry.session_api_key';
let socket;

function apiKey() {
  return sessionStorage.getItem(keyName) || '';
}

async function api(path) {
  const response = await fetch(path, { headers: { 'X-Session-API-Key': apiKey() } });
  if (response.status === 401) {
    showLogin('The API key was refused. Enter it again.');
    throw new Error('unauthorized');
  }
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function text(content) {
  if (!Array.isArray(content)) return typeof content === 'string' ? content : JSON.stringify(content);
  return content.map((part) => (part && part.type === 'text' ? part.text : '')).join('');
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#login-message').textContent = message || '';
}

async function listConversations() {
  const page = await api('/api/conversations/search?limit=100');
  const list = $('#conversations');
  list.replaceChildren();
  for (const info of page.items) {
    const title = info.title || info.id;
    list.append(
      el('li', {},
        el('a', { href: '#' + info.id, onclick: () => openConversation(info.id) }, title),
        el('span', { class: 'status status-' + info.execution_status, 'data-status-of': info.id }, info.execution_status)),
    );
  }
  if (page.items.length === 0) list.append(el('li', { class: 'muted' }, 'No conversations yet.'));
}

// Places are URLs: a server's origin (http, https) or a folder on a machine (file://host/path).
// Bands read REMOTE or LOCAL; the full place stays in the heading's tooltip.
function placeOf(hop) {
  if (!hop) return 'ELSEWHERE';
  if (/^https?:\/\//i.test(hop)) return 'REMOTE';
  if (/^file:\/\//i.test(hop)) return 'LOCAL';
  return String(hop).toUpperCase();
}

// The first stretch's place is unknown until the first hop says where it left from.
const state = { id: undefined, band: undefined, heading: undefined, placeKnown: false, actions: new Map() };

function newBand(place, where) {
  state.placeKnown = place !== undefined;
  state.heading = el('h3', { class: 'place' }, state.placeKnown ? 'Ran ' + place : 'Ran here');
  if (where) state.heading.title = where;
  state.band = el('section', { class: 'band' }, state.heading);
  $('#timeline').append(state.band);
}

// The open conversation's status shows in its header and in its entry of the list.
function showStatus(status) {
  for (const badge of [$('#status'), ...document.querySelectorAll('[data-status-of]')]) {
    if (badge.id !== 'status' && badge.dataset.statusOf !== state.id) continue;
    badge.textContent = status;
    badge.className = 'status status-' + status;
  }
}

function render(event) {
  if (!state.band) newBand();
  const time = (event.timestamp || '').replace('T', ' ').slice(0, 19);
  const row = (cls, label, body) => el('div', { class: 'event ' + cls }, el('span', { class: 'time' }, time), el('b', {}, label), body);
  switch (event.kind) {
    case 'MessageEvent': {
      const role = event.llm_message && event.llm_message.role;
      state.band.append(row(role === 'user' ? 'user' : 'agent', role === 'user' ? 'User' : 'Agent', el('p', {}, text(event.llm_message.content))));
      break;
    }
    case 'ActionEvent': {
      const details = el('details', {}, el('summary', {}, event.tool_name + ' ' + (event.summary || event.tool_call.arguments.slice(0, 120))));
      details.append(el('pre', {}, event.tool_call.arguments));
      state.actions.set(event.tool_call_id, details);
      state.band.append(row('action', 'Action', details));
      break;
    }
    case 'ObservationEvent':
    case 'AgentErrorEvent':
    case 'UserRejectObservation': {
      const body = event.kind === 'ObservationEvent' ? text(event.observation.content)
        : event.kind === 'AgentErrorEvent' ? 'ERROR: ' + event.error : 'Rejected: ' + event.rejection_reason;
      const target = state.actions.get(event.tool_call_id);
      const output = el('pre', { class: event.kind === 'ObservationEvent' ? 'output' : 'output error' }, body);
      if (target) target.append(output);
      else state.band.append(row('observation', 'Result', output));
      break;
    }
    case 'ConversationStateUpdateEvent':
      if (event.key === 'execution_status') showStatus(event.value);
      if (event.key === 'agent') {
        const model = event.value && event.value.llm && event.value.llm.model;
        state.band.append(row('agent-change', 'Agent changed', el('p', {}, 'now ' + (model || 'a new agent'))));
      }
      if (event.key === 'stats') renderStats(event.value);
      break;
    case 'TeleportEvent': {
      if (!state.placeKnown) {
        state.heading.textContent = 'Ran ' + placeOf(event.from);
        state.heading.title = event.from;
      }
      // An arrival with a new agent logs the agent change just before the hop; it belongs to
      // the place the conversation arrived at.
      const last = state.band.lastElementChild;
      const arrivalAgent = last && last.classList.contains('agent-change') ? last : undefined;
      newBand(placeOf(event.to), event.to);
      state.band.append(row('teleport', 'Teleport', el('p', {}, 'from ' + event.from + ' to ' + event.to)));
      if (arrivalAgent) state.band.append(arrivalAgent);
      break;
    }
    case 'ConversationErrorEvent':
      state.band.append(row('error', event.code, el('p', {}, event.detail)));
      break;
    case 'PauseEvent':
      state.band.append(row('pause', 'Paused', el('span')));
      break;
    default:
      state.band.append(row('other', event.kind, el('span')));
  }
}

function renderStats(stats) {
  const metrics = (stats && stats.usage_to_metrics) || {};
  const parts = Object.entries(metrics).map(([usage, m]) => {
    const tokens = m.accumulated_token_usage || {};
    return usage + ': ' + (tokens.prompt_tokens || 0) + ' in / ' + (tokens.completion_tokens || 0) + ' out tokens';
  });
  $('#stats').textContent = parts.join(' · ');
}

async function openConversation(id) {
  if (socket) socket.close();
  state.id = id;
  state.band = undefined;
  state.actions.clear();
  $('#timeline').replaceChildren();
  const info = await api('/api/conversations/' + id);
  $('#title').textContent = info.title || info.id;
  showStatus(info.execution_status);
  renderStats(info.stats);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = scheme + '//' + location.host + '/sockets/events/' + id + '?resend_mode=all&session_api_key=' + encodeURIComponent(apiKey());
  socket = new WebSocket(url);
  socket.onmessage = (message) => {
    try { render(JSON.parse(message.data)); } catch (error) { console.error(error); }
  };
  socket.onclose = (close) => {
    if (close.code === 4001) showLogin('The API key was refused. Enter it again.');
  };
}

$('#login-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  sessionStorage.setItem(keyName, $('#api-key').value);
  $('#login').hidden = true;
  start();
});

async function start() {
  try {
    await listConversations();
    const id = location.hash.slice(1);
    if (id) await openConversation(id);
  } catch (error) {
    if (String(error.message) !== 'unauthorized') $('#timeline').textContent = String(error);
  }
}

if (apiKey() || new URLSearchParams(location.search).has('open')) start();
else showLogin('');
`;
