/**
 * What a resume checks and what it trusts (issue #19): fixed text, kept with the report so that
 * a regenerated BENCHMARKS.md still says it.
 */
export function resumeTrustLines(): string[] {
  return [
    '',
    '### What a resume checks and what it trusts',
    '',
    'A resume of a file-store conversation (`LocalConversation.open` on a folder) reads what the next LLM request needs, not the whole history:',
    '',
    "- **Checked at every resume.** The lock and the state document (JSON, schema, id), the runtime agent against the persisted one (`verifyAgent`: same kind, no tool removed — the persisted agent holds every tool the history ever used, so no event needs reading for this). The log index `events/index.json`: its checksum, its version, and that it fits the segments on disk (same segment names; every segment but the last exactly its indexed size, the last at least it). Every byte appended since the index was written is read and every line checked as before (JSON, event envelope, no duplicate id — against older ids through the index's id hashes, reading any candidate to be sure); a torn last line is cut off with a warning. The context snapshot `context_snapshot.json`: its checksum, and against the log itself — the event at its position must be that `Condensation`, and each older event it pins (those the LLM still sees) must carry the recorded id. Every event from the last condensation on, and every pinned one, is read and checked like an open checks a line, and additionally against the index (same line offsets, same id hash). Crash recovery answers the unanswered actions among these (a visible action still waiting for its answer is always pinned).",
    '- **Rebuilt when wrong.** A missing, damaged or non-fitting index, or a missing, damaged or disagreeing snapshot, means a full read of every line (`CorruptEventLogError` naming segment and line for any bad one) and both files written again. `openReport.liveContext.source` says which path a resume took (`snapshot`, `rebuilt`, `full-log`).',
    "- **Trusted until read.** The bytes of older segments, and of the older part of the last one, that the index covers and that hold no pinned event: a resume checks only their sizes. They are read and checked (each line as at open, plus offsets and id hashes against the index) the first time anything asks for them — `conversation.events` (synchronously, then kept), `store.readEvents` / the server's event routes, export, fork — and a bad line is reported then as `CorruptEventLogError` naming the segment and line; a well-formed line that is not the indexed one drops the index, so the next open reads everything. A same-size in-place edit of old history is therefore found when it is read, not at open.",
    '- **Not carried.** The index is a cache of the log: bundles leave it out, and each side of a teleport keeps or rebuilds its own.',
    '- **Other stores.** The in-memory store takes the same path; `PostgresStore` has no synchronous read (`readEventsSync`), so a conversation there still reads its whole log at resume.',
  ];
}
