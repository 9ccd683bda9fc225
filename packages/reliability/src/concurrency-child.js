// A second process opening a conversation: run by the concurrency test as its own process.
// argv: <persistenceDir> <workingDir> <conversationId> <message>
// It prints `READY` once loaded, waits for `go` on stdin (so several children race at once), opens the conversation and
// prints `OPENED <pid>`, or `REFUSED <code> <owner pid>` when another process holds it. An
// opened conversation gets `<message>` appended, then is held until stdin says `close` (or
// ends): it prints `CLOSED` once released and exits 0.
import { createInterface } from 'node:readline';
import process from 'node:process';
import { ConversationLockedError, LocalConversation } from '@ferry/sdk-core';
import { LocalWorkspace } from '@ferry/workspace-local';

const [persistenceDir, workingDir, conversationId, message] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function say(line) {
  process.stdout.write(`${line}\n`);
}

async function nextLine() {
  const next = await lines.next();
  return next.done ? undefined : next.value.trim();
}

say('READY');
if ((await nextLine()) !== 'go') process.exit(2);
const workspace = new LocalWorkspace({ workingDir });
let conversation;
try {
  conversation = await LocalConversation.open({
    persistenceDir,
    conversationId,
    workspace,
    onWarning: () => undefined,
  });
} catch (error) {
  await workspace.close();
  if (ConversationLockedError.isInstance(error)) {
    say(`REFUSED ${error.code} ${error.owner?.pid ?? 'unknown'}`);
    process.exit(0);
  }
  say(`FAILED ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
await conversation.sendMessage(message);
say(`OPENED ${process.pid}`);
for (;;) {
  const line = await nextLine();
  if (line === undefined || line === 'close') break;
}
await conversation.close();
await workspace.close();
say('CLOSED');
process.exit(0);
