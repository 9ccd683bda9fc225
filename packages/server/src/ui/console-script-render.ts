/**
 * The console's browser script, part 2: drawing a conversation. One band per place it ran in
 * (LOCAL or REMOTE, with the steps, tokens and cost spent there), its journey across places,
 * and readable tool results: long output folded, `file_editor` edits as diffs, terminal exit
 * codes (failures red).
 */
export const CONSOLE_RENDER_SCRIPT = String.raw`
const FOLD_LINES = 24;
const FOLD_KEEP = 12;

function newView(id) {
  return {
    id, info: undefined, status: '', parked: undefined, seen: new Set(), lastEventId: undefined,
    band: undefined, bands: [], hops: [], colours: new Map(), results: new Map(), actions: new Map(), answered: new Set(),
    stats: undefined, poll: undefined, refresh: 0,
  };
}

function text(content) {
  if (content === undefined || content === null) return '';
  if (!Array.isArray(content)) return typeof content === 'string' ? content : JSON.stringify(content, null, 2);
  return content.map((part) => (part && part.type === 'text' ? part.text : '')).join('');
}

// Places are URLs: a server's origin (http, https) or a folder on a machine (file://host/path).
function placeOf(where) {
  if (!where) return 'HERE';
  if (/^https?:\/\//i.test(where)) return 'REMOTE';
  if (/^file:\/\//i.test(where)) return 'LOCAL';
  return String(where).toUpperCase();
}

// A short name for a place: a server's host, or the machine a folder is on.
function shortPlace(where) {
  try {
    const url = new URL(where);
    return url.protocol === 'file:' ? url.hostname || 'this machine' : url.host;
  } catch {
    return String(where || '');
  }
}

function isServer(where) {
  return /^https?:\/\//i.test(where || '');
}

// Where this console shows the conversation from: this server, or the local folder it reads.
function herePlace() {
  return consoleInfo.mode === 'local' ? consoleInfo.place : location.origin;
}

function sameServer(where) {
  try { return new URL(where).origin === location.origin; } catch { return false; }
}

// A Ferry server's copy opens in that server's console (its key is asked for there).
function placeLink(where, label) {
  if (isServer(where) && !(consoleInfo.mode === 'server' && sameServer(where)) && view) {
    return el('a', { href: where.replace(/\/+$/, '') + '/ui/#' + view.id, target: '_blank', rel: 'noopener' }, label);
  }
  return el('span', { title: where }, label);
}

function totals(stats) {
  const sum = { prompt: 0, completion: 0, cost: 0 };
  for (const metrics of Object.values((stats && stats.usage_to_metrics) || {})) {
    const tokens = metrics.accumulated_token_usage || {};
    sum.prompt += tokens.prompt_tokens || 0;
    sum.completion += tokens.completion_tokens || 0;
    sum.cost += metrics.accumulated_cost || 0;
  }
  return sum;
}

function usageText(steps, from, to) {
  const prompt = to.prompt - from.prompt;
  const completion = to.completion - from.completion;
  const cost = to.cost - from.cost;
  return steps + (steps === 1 ? ' step' : ' steps') + ' · ' + (prompt + completion).toLocaleString('en') +
    ' tokens (' + prompt.toLocaleString('en') + ' in, ' + completion.toLocaleString('en') + ' out) · $' + cost.toFixed(4);
}

function newBand(where) {
  const zero = totals(view.stats);
  const band = { where, start: zero, now: zero, responses: new Set() };
  band.label = el('h3', { class: 'place' });
  band.whereText = el('span', { class: 'place-where' });
  band.usage = el('span', { class: 'band-stats' });
  band.section = el('section', { class: 'band', 'aria-label': 'Stretch of work' },
    el('div', { class: 'band-head' }, band.label, band.whereText, band.usage));
  setBandPlace(band, where);
  view.bands.push(band);
  view.band = band;
  $('#timeline').append(band.section);
  updateBandUsage(band);
  return band;
}

function setBandPlace(band, where) {
  band.where = where;
  const place = placeOf(where);
  band.label.textContent = 'Ran ' + place;
  const here = where === herePlace() ? ' (this ' + (consoleInfo.mode === 'local' ? 'folder' : 'server') + ')' : '';
  band.whereText.replaceChildren(where ? placeLink(where, where) : '', here);
  // Each server gets its own colour, so two remote stretches in a row read apart.
  if (place !== 'LOCAL' && !view.colours.has(where)) view.colours.set(where, view.colours.size % 4);
  band.section.className = 'band place-' + place + (place === 'LOCAL' ? '' : ' colour-' + view.colours.get(where));
}

function updateBandUsage(band) {
  band.usage.textContent = usageText(band.responses.size, band.start, band.now);
}

function row(cls, label, body, event) {
  const time = (event.timestamp || '').slice(11, 19);
  const fork = consoleInfo.read_only ? undefined
    : el('button', { type: 'button', class: 'fork', title: 'Fork a new conversation from this event', 'aria-label': 'Fork from this event', onclick: () => forkFrom(event.id) }, 'Fork');
  const node = el('div', { class: 'event ' + cls, 'data-event-id': event.id, 'data-kind': event.kind },
    el('span', { class: 'time', title: event.timestamp }, time), el('b', {}, label), body, fork || el('span'));
  view.band.section.append(node);
  return node;
}

// Long output is folded, not hidden: its head shows, the rest opens in place.
function output(content, cls) {
  const body = String(content);
  const lines = body.split('\n');
  if (lines.length <= FOLD_LINES) return el('pre', { class: cls }, body);
  const fold = el('details', { class: 'fold' },
    el('summary', {}, 'Show all ' + lines.length + ' lines'), el('pre', { class: cls }, body));
  const head = el('pre', { class: cls }, lines.slice(0, FOLD_KEEP).join('\n') + '\n…');
  fold.addEventListener('toggle', () => { head.hidden = fold.open; });
  return el('div', {}, head, fold);
}

function argumentsOf(event) {
  try { return JSON.parse((event.tool_call && event.tool_call.arguments) || '{}'); } catch { return {}; }
}

function actionBody(event) {
  const args = event.action && typeof event.action === 'object' ? { ...argumentsOf(event), ...event.action } : argumentsOf(event);
  const head = el('div', { class: 'action-head' });
  let detail;
  if (event.tool_name === 'terminal' && typeof args.command === 'string') head.append(el('code', {}, '$ ' + args.command));
  else if (event.tool_name === 'file_editor') head.append(el('code', {}, (args.command || 'edit') + ' ' + (args.path || '')));
  else if (event.tool_name === 'finish') detail = el('p', {}, args.message || '');
  else if (event.tool_name === 'think') detail = el('p', { class: 'muted' }, args.thought || '');
  else detail = output(JSON.stringify(args, null, 2), 'args');
  if (event.summary) head.append(el('span', { class: 'muted' }, event.summary));
  if (event.security_risk && event.security_risk !== 'UNKNOWN') head.append(riskBadge(event.security_risk));
  const thought = text(event.thought);
  const body = el('div', { class: 'action' }, thought ? el('p', { class: 'muted' }, thought) : undefined, head, detail);
  return body;
}

function riskBadge(risk) {
  return el('span', { class: 'risk risk-' + risk, title: 'Risk the agent gave this action' }, (risk || 'UNKNOWN') + ' risk');
}

function linesOf(content) {
  if (content === '') return [];
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// A line diff (longest common subsequence), trimmed to a few lines of context around changes.
function diffLines(before, after) {
  const a = linesOf(before);
  const b = linesOf(after);
  if (a.length * b.length > 400000) return [...a.map((line) => ['del', line]), ...b.map((line) => ['add', line])];
  const common = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { lines.push(['same', a[i]]); i += 1; j += 1; }
    else if (i < a.length && (j >= b.length || common[i + 1][j] >= common[i][j + 1])) { lines.push(['del', a[i]]); i += 1; }
    else { lines.push(['add', b[j]]); j += 1; }
  }
  const near = lines.map((line, index) => lines.slice(Math.max(0, index - 3), index + 4).some((other) => other[0] !== 'same'));
  const shown = [];
  lines.forEach((line, index) => {
    if (near[index]) shown.push(line);
    else if (shown.length === 0 || shown[shown.length - 1][0] !== 'gap') shown.push(['gap', '⋯']);
  });
  return shown;
}

function diffView(path, before, after) {
  const marks = { add: '+ ', del: '- ', same: '  ', gap: '' };
  return el('pre', { class: 'diff', 'aria-label': 'Changes to ' + path },
    el('span', { class: 'file' }, (before === '' ? 'new file ' : '') + path),
    diffLines(before, after).map(([kind, line]) => el('span', { class: kind }, marks[kind] + line)));
}

function observationBody(event) {
  const observation = event.observation || {};
  const content = text(observation.content);
  if (event.tool_name === 'terminal' || observation.kind === 'TerminalObservation') {
    const code = observation.exit_code ?? (observation.metadata && observation.metadata.exit_code);
    const failed = observation.is_error === true || (typeof code === 'number' && code !== 0);
    const exit = typeof code === 'number'
      ? el('span', { class: 'exit' + (failed ? ' failed' : ''), title: 'exit code' }, 'exit ' + code) : undefined;
    return { failed, nodes: [exit, output(content, 'output' + (failed ? ' failed' : ''))] };
  }
  if (observation.kind === 'FileEditorObservation' && typeof observation.new_content === 'string' && observation.command !== 'view') {
    const before = typeof observation.old_content === 'string' ? observation.old_content : '';
    return { failed: false, nodes: [diffView(observation.path || '', before, observation.new_content)] };
  }
  const failed = observation.is_error === true;
  return { failed, nodes: [output(content, 'output' + (failed ? ' error' : ''))] };
}

// A result goes under the action it answers, so an action and its outcome read together.
function attachResult(event, nodes, failed) {
  view.answered.add(event.tool_call_id);
  const target = view.results.get(event.tool_call_id);
  if (target) {
    target.slot.append(...nodes.filter(Boolean));
    if (failed) target.row.classList.add('failed');
  } else {
    row(failed ? 'observation failed' : 'observation', 'Result', el('div', {}, nodes), event);
  }
}

function render(event) {
  if (!view.band) {
    // Until a hop says where the first stretch ran, it ran where this console reads it from.
    newBand(herePlace());
    view.band.guessed = true;
  }
  switch (event.kind) {
    case 'MessageEvent': {
      const role = event.llm_message && event.llm_message.role;
      if (role !== 'user') view.band.responses.add(event.llm_response_id || event.id);
      row(role === 'user' ? 'user' : 'agent', role === 'user' ? 'User' : 'Agent', el('p', {}, text(event.llm_message && event.llm_message.content)), event);
      break;
    }
    case 'ActionEvent': {
      view.band.responses.add(event.llm_response_id || event.id);
      const slot = el('div', { class: 'result' });
      const body = el('div', {}, actionBody(event), slot);
      const node = row('action', event.tool_name, body, event);
      view.results.set(event.tool_call_id, { row: node, slot });
      view.actions.set(event.tool_call_id, event);
      break;
    }
    case 'ObservationEvent': {
      // The action already shows what finish and think say; their results only echo it.
      if (event.tool_name === 'finish' || event.tool_name === 'think') {
        view.answered.add(event.tool_call_id);
        break;
      }
      const result = observationBody(event);
      attachResult(event, result.nodes, result.failed);
      break;
    }
    case 'AgentErrorEvent':
      attachResult(event, [output('Error: ' + event.error, 'output error')], true);
      break;
    case 'UserRejectObservation':
      attachResult(event, [el('p', { class: 'muted' }, 'Rejected' + (event.rejection_reason ? ': ' + event.rejection_reason : ''))], false);
      break;
    case 'SystemPromptEvent':
      row('system', 'System', el('details', { class: 'fold' }, el('summary', {}, 'System prompt and ' + (event.tools || []).length + ' tools'), output(text(event.system_prompt), 'output')), event);
      break;
    case 'ConversationStateUpdateEvent':
      stateUpdate(event);
      break;
    case 'TeleportEvent': {
      if (view.hops.length === 0 && view.band.guessed) setBandPlace(view.band, event.from);
      // An arrival with a new agent logs the agent change just before the hop; it belongs to
      // the place the conversation arrived at.
      const last = view.band.section.lastElementChild;
      const arrivalAgent = last && last.classList.contains('agent-change') ? last : undefined;
      view.hops.push(event);
      newBand(event.to);
      row('teleport', 'Arrived', el('p', {}, 'from ', placeLink(event.from, event.from)), event);
      if (arrivalAgent) view.band.section.append(arrivalAgent);
      break;
    }
    case 'ConversationErrorEvent':
      row('error', event.code, el('p', {}, event.detail), event);
      break;
    case 'PauseEvent':
      row('pause', 'Paused', el('span', { class: 'muted' }, 'by ' + (event.source || 'user')), event);
      break;
    case 'InterruptEvent':
      row('pause', 'Interrupted', el('span', { class: 'muted' }, 'by ' + (event.source || 'user')), event);
      break;
    case 'Condensation':
      row('condensation', 'Condensed', el('p', { class: 'muted' }, (event.forgotten_event_ids || []).length + ' events forgotten' + (event.summary ? ': ' + event.summary : '')), event);
      break;
    default:
      row('other', event.kind, el('span'), event);
  }
}

function stateUpdate(event) {
  const value = event.value;
  switch (event.key) {
    case 'full_state':
      if (value && typeof value === 'object') {
        if (value.execution_status) view.status = value.execution_status;
        if ('teleport' in value) view.parked = value.teleport || undefined;
        // Not its stats: the snapshot comes before the replay, whose own stats updates give
        // each band its usage; taken here they would be every band's starting point.
      }
      break;
    case 'execution_status':
      view.status = value;
      break;
    case 'teleport':
      // A hop in OpenHands' shape (a server that did not honour the full-events opt-in).
      if (value && value.from && value.to) render({ ...event, kind: 'TeleportEvent', ...value });
      else view.parked = value || undefined;
      break;
    case 'stats':
      takeStats(value);
      break;
    case 'agent': {
      const model = value && value.llm && value.llm.model;
      row('agent-change', 'Agent changed', el('p', {}, 'now ' + (model || 'a new agent')), event);
      break;
    }
    default:
      break;
  }
}

function takeStats(stats) {
  view.stats = stats;
  view.band.now = totals(stats);
}

function applyInfo(info) {
  view.info = info;
  view.status = info.execution_status;
  view.parked = info.teleport || undefined;
  $('#title').textContent = info.title || 'Untitled conversation';
  $('#conversation-id').textContent = info.id;
  document.title = (info.title || info.id) + ' · Ferry console';
  if (!$('#llm-model').value && info.agent && info.agent.llm) $('#llm-model').value = info.agent.llm.model || '';
  refreshView();
}

function scheduleRefresh() {
  if (view.refresh) return;
  view.refresh = requestAnimationFrame(() => { view.refresh = 0; refreshView(); });
}

// Everything derived from the events so far: status, usage, journey, parking, what may be done.
function refreshView() {
  if (!view || !view.info) return;
  const status = view.parked ? 'parked' : view.status;
  setBadge($('#status'), status);
  for (const badge of document.querySelectorAll('[data-status-of]')) {
    if (badge.dataset.statusOf === view.id) setBadge(badge, status);
  }
  for (const band of view.bands) updateBandUsage(band);
  const steps = view.bands.reduce((sum, band) => sum + band.responses.size, 0);
  const model = view.info.agent && view.info.agent.llm ? view.info.agent.llm.model : '';
  const stats = view.stats || view.info.stats;
  $('#totals').textContent = 'In all: ' + usageText(steps, totals(undefined), totals(stats)) + (model ? ' · model ' + model : '');
  renderJourney();
  renderParked();
  $('#activity').hidden = status !== 'running';
  renderControls(status);
  document.body.classList.toggle('parked-view', Boolean(view.parked));
}

function renderJourney() {
  const stops = view.hops.length ? [view.hops[0].from, ...view.hops.map((hop) => hop.to)] : [herePlace()];
  if (view.parked) stops.push(view.parked.to);
  const list = $('#journey');
  list.replaceChildren();
  stops.forEach((where, index) => {
    const last = index === stops.length - 1;
    const label = placeOf(where) + ' · ' + shortPlace(where) + (last ? ' (now)' : '');
    list.append(el('li', {}, el('span', { class: 'stop' + (last ? ' here' : ''), title: where }, placeLink(where, label))));
  });
}

function renderParked() {
  const banner = $('#parked');
  if (!view.parked) { banner.hidden = true; return; }
  const where = view.parked.to;
  const when = view.parked.at ? ' on ' + view.parked.at.replace('T', ' ').slice(0, 19) + ' UTC' : '';
  banner.replaceChildren(el('b', {}, 'Parked. '), 'This conversation left for ', placeLink(where, where), when,
    '. It runs there now; this copy keeps the history up to its departure and cannot run.');
  banner.hidden = false;
}
`;
