import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A document of a kind Ferry can read but not run: an agent other than `Agent`, or a condenser
 * other than `LLMSummarizingCondenser` / `NoOpCondenser`. Such documents are kept as they are in
 * persisted state; only running a conversation with one is refused.
 */
export class UnsupportedKindError extends FerryError {
  constructor(
    readonly document: 'agent' | 'condenser',
    readonly kind: string,
    readonly supported: readonly string[],
  ) {
    super(
      'UNSUPPORTED_KIND',
      `Ferry cannot run ${document === 'agent' ? 'an agent' : 'a condenser'} of kind "${kind}": ` +
        `use ${supported.map((name) => `"${name}"`).join(' or ')}.`,
    );
  }

  static override isInstance(value: unknown): value is UnsupportedKindError {
    return isFerryErrorNamed(value, 'UnsupportedKindError');
  }

  protected override details() {
    return { document: this.document, kind: this.kind, supported: [...this.supported] };
  }
}
