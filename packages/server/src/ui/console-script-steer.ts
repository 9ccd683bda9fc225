/**
 * The console's browser script, part 3: steering. Every action is one call of the server's API
 * with the same key as everything else: send a message and run, run, pause, interrupt, answer a
 * confirmation (with a reason when rejecting), switch the LLM, fork from an event, teleport to
 * another Ferry server. A read-only console (a local folder) shows none of them.
 */
export const CONSOLE_STEER_SCRIPT = String.raw`
function conversationPath(suffix) {
  return '/api/conversations/' + encodeURIComponent(view.id) + suffix;
}

// Runs one action, says how it went, and keeps the page in step with the server.
async function act(label, work) {
  notify(label + '…');
  try {
    await work();
    notify(label + ': done.');
  } catch (error) {
    notify(label + ' failed: ' + error.message, true);
  }
}

function pendingActions() {
  return [...view.actions.values()].filter((action) => !view.answered.has(action.tool_call_id));
}

function renderControls(status) {
  const steer = $('#steer');
  const canSteer = !consoleInfo.read_only && !view.parked;
  steer.hidden = !canSteer;
  const running = status === 'running';
  $('#run').disabled = running || status === 'waiting_for_confirmation';
  $('#pause').disabled = !running;
  $('#interrupt').disabled = !running;
  const confirm = $('#confirm');
  const waiting = canSteer && status === 'waiting_for_confirmation';
  const wasHidden = confirm.hidden;
  confirm.hidden = !waiting;
  if (!waiting) return;
  $('#pending').replaceChildren(...pendingActions().map((action) => {
    const args = argumentsOf(action);
    const what = action.tool_name === 'terminal' ? '$ ' + args.command : action.tool_name + ' ' + (action.tool_call && action.tool_call.arguments || '');
    return el('li', {}, riskBadge(action.security_risk), ' ', el('code', {}, what), action.summary ? ' ' : '', action.summary ? el('span', { class: 'muted' }, action.summary) : undefined);
  }));
  if (wasHidden) $('#accept').focus();
}

async function forkFrom(eventId) {
  await act('Fork', async () => {
    const fork = await api(conversationPath('/fork'), { method: 'POST', body: { from_event_id: eventId } });
    await listConversations();
    location.hash = fork.id;
  });
}

async function sendMessage() {
  const message = $('#message').value.trim();
  if (!message) { $('#message').focus(); return; }
  await act('Send', async () => {
    await api(conversationPath('/events'), { method: 'POST', body: { role: 'user', content: [{ type: 'text', text: message }], run: true } });
    $('#message').value = '';
  });
}

$('#message-form').addEventListener('submit', (submit) => { submit.preventDefault(); sendMessage(); });
$('#message').addEventListener('keydown', (key) => {
  if (key.key === 'Enter' && (key.ctrlKey || key.metaKey)) { key.preventDefault(); sendMessage(); }
});
$('#run').addEventListener('click', () => act('Run', () => api(conversationPath('/run'), { method: 'POST' })));
$('#pause').addEventListener('click', () => act('Pause', () => api(conversationPath('/pause'), { method: 'POST' })));
$('#interrupt').addEventListener('click', () => act('Interrupt', () => api(conversationPath('/interrupt'), { method: 'POST' })));

function respond(accept) {
  const reason = $('#reject-reason').value.trim();
  return act(accept ? 'Accept' : 'Reject', async () => {
    await api(conversationPath('/events/respond_to_confirmation'), {
      method: 'POST', body: accept ? { accept: true } : { accept: false, ...(reason ? { reason } : {}) },
    });
    $('#reject-reason').value = '';
  });
}
$('#accept').addEventListener('click', () => respond(true));
$('#reject').addEventListener('click', () => respond(false));
$('#confirm-form').addEventListener('submit', (submit) => { submit.preventDefault(); respond(false); });

$('#llm-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const current = (view.info.agent && view.info.agent.llm) || {};
  const llm = { model: $('#llm-model').value.trim() };
  if (current.usage_id) llm.usage_id = current.usage_id;
  if ($('#llm-base-url').value.trim()) llm.base_url = $('#llm-base-url').value.trim();
  if ($('#llm-api-key').value) llm.api_key = $('#llm-api-key').value;
  act('Switch the LLM to ' + llm.model, async () => {
    await api(conversationPath('/switch_llm'), { method: 'POST', body: { llm } });
    $('#llm-api-key').value = '';
    await refreshInfo();
  });
});

// The source server moves the conversation itself; the other server's key goes in the body.
$('#teleport-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const to = $('#teleport-to').value.trim().replace(/\/+$/, '');
  const body = { to };
  if ($('#teleport-api-key').value) body.api_key = $('#teleport-api-key').value;
  if ($('#teleport-working-dir').value.trim()) body.working_dir = $('#teleport-working-dir').value.trim();
  // Bundles carry no secrets: the LLM key to run with there travels in this request only.
  const agent = view.info.agent;
  if ($('#teleport-llm-key').value && agent) body.agent = { ...agent, llm: { ...agent.llm, api_key: $('#teleport-llm-key').value } };
  act('Teleport to ' + to, async () => {
    await api(conversationPath('/teleport'), { method: 'POST', body });
    $('#teleport-api-key').value = '';
    $('#teleport-llm-key').value = '';
    $('#teleport').open = false;
    await refreshInfo();
    await listConversations();
  });
});
`;
