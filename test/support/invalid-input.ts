import assert from 'node:assert/strict';
import { InvalidInput } from '../../src/domain/errors.ts';

/** For assert.throws: the error is InvalidInput naming `field`, with a message matching `message`. */
export function isInvalidInput(field: string, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InvalidInput, `expected InvalidInput, got ${String(e)}`);
    assert.equal(e.field, field);
    if (message) assert.match(e.message, message);
    return true;
  };
}
