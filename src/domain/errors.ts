/**
 * A caller's mistake: bad input that must be reported as one readable line
 * (CLI) or a 4xx problem+json (API) naming the offending field, and that must
 * change nothing.
 */
export class InvalidInput extends Error {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, message: string, value?: unknown) {
    super(`${field}: ${message}`);
    this.name = 'InvalidInput';
    this.field = field;
    this.value = value;
  }
}

/** The input names something that does not exist (a member, an invoice). */
export class NotFound extends InvalidInput {
  constructor(field: string, message: string, value?: unknown) {
    super(field, message, value);
    this.name = 'NotFound';
  }
}
