import { FerryError } from '@ferry/sdk-core';
import type { ValidationIssue } from '../schemas/common-schemas';

/**
 * A part of a request that Fastify's schema validation does not see (a header holding JSON, a
 * multipart field) is invalid. Answered like schema validation errors: 422 with field paths.
 */
export class RequestValidationError extends FerryError {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(
      'VALIDATION_ERROR',
      issues.map((issue) => `${issue.loc.join('.')}: ${issue.msg}`).join('; '),
    );
  }

  protected override details() {
    return { detail: [...this.issues] };
  }
}
