import { describe, expect, it } from 'vitest';
import { mergeSettingsDiff } from './settings-merge';

describe('mergeSettingsDiff', () => {
  it('merges nested objects, replaces lists, and removes a nested entry given null', () => {
    const current = {
      llm: { model: 'a', temperature: 0.2 },
      mcp_config: { svc: { url: 'http://x', headers: { 'X-Old': '1', 'X-Keep': '2' } } },
      tools: ['terminal', 'file_editor'],
    };
    const merged = mergeSettingsDiff(current, {
      llm: { model: 'b' },
      mcp_config: { svc: { headers: { 'X-Old': null } } },
      tools: ['terminal'],
    });
    expect(merged).toEqual({
      llm: { model: 'b', temperature: 0.2 },
      mcp_config: { svc: { url: 'http://x', headers: { 'X-Keep': '2' } } },
      tools: ['terminal'],
    });
    expect(current.llm.model).toBe('a');
  });

  it('keeps a top-level null as a value rather than removing the field', () => {
    expect(mergeSettingsDiff({ confirmation_mode: true }, { confirmation_mode: null })).toEqual({
      confirmation_mode: null,
    });
  });
});
