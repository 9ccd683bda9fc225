import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { knownEventSchema } from '../event/event-schemas';
import { openHandsEventFields, openHandsStateFields } from './openhands-fields';
import {
  openHandsModelProblems,
  openHandsReferenceModel,
  openHandsReferenceModels,
  referenceArchive,
} from '../testing/openhands-reference';

describe("OpenHands' field lists", () => {
  // Python parses the whole reference archive once: seconds on a busy machine.
  beforeAll(() => void openHandsReferenceModels(), 120_000);

  it.each(Object.keys(openHandsEventFields))(
    '%s has exactly the fields of the reference model, which forbids others',
    (kind) => {
      const model = openHandsReferenceModel(kind);
      expect(model.forbidsExtra).toBe(true);
      expect([...(openHandsEventFields[kind] ?? [])].sort()).toEqual(
        [...model.fields, 'kind'].sort(),
      );
    },
  );

  it('finds the reference sources where FERRY_REFERENCE_DIR says, and says so when they are not there', () => {
    const found = referenceArchive({});
    expect(referenceArchive({ FERRY_REFERENCE_DIR: dirname(found) })).toBe(found);
    expect(() => referenceArchive({ FERRY_REFERENCE_DIR: tmpdir() })).toThrow(
      `FERRY_REFERENCE_DIR is set, but ${join(tmpdir(), 'openhands-agent-server-1.43.1.tgz')} does not exist.`,
    );
  });

  it('covers every event kind Ferry knows but its own TeleportEvent', () => {
    const ferryKinds = knownEventSchema.options.map((option) => option.shape.kind.value);
    expect(ferryKinds.filter((kind) => openHandsEventFields[kind] === undefined)).toEqual([
      'TeleportEvent',
    ]);
  });

  it('lists the fields of the reference ConversationState', () => {
    expect([...openHandsStateFields].sort()).toEqual(
      [...openHandsReferenceModel('ConversationState').fields].sort(),
    );
  });

  it('finds the fields OpenHands would refuse, at any depth', () => {
    const event = {
      id: 'e1',
      timestamp: '2026-01-01T00:00:00Z',
      source: 'agent',
      kind: 'ActionEvent',
      llm_provider: 'openai',
      thought: [{ type: 'text', text: 'x', note: 1 }],
      action: { kind: 'ThinkAction', thought: 'x', mood: 'calm' },
    };
    expect(openHandsModelProblems(event)).toEqual([
      '$: ActionEvent has no field llm_provider',
      '$.thought[0]: TextContent has no field note',
      '$.action: ThinkAction has no field mood',
    ]);
  });
});
