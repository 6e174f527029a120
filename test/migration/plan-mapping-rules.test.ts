import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInCatalog, catalogIndex } from '../../src/domain/catalog.ts';
import { InvalidInput } from '../../src/domain/errors.ts';
import { legacyPlans } from '../../src/legacy/index.ts';
import { checkPlanMapping, parsePlanMapping, referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';

const catalog = catalogIndex(builtInCatalog);
const refused = (field: string, message: RegExp) => (err: unknown) => err instanceof InvalidInput && err.field === field && message.test(err.message);

test('a mapping file: YAML or JSON, legacy code to Tally plan', () => {
  const yaml = parsePlanMapping('plans:\n  STRM_STD_M: standard\n  STRM_1S_2010: basic  # obsolete\n', 'yaml');
  assert.deepEqual([...yaml], [['STRM_STD_M', 'standard'], ['STRM_1S_2010', 'basic']]);
  assert.deepEqual([...parsePlanMapping('{"plans":{"DVD_1":"dvd-1"}}', 'json')], [['DVD_1', 'dvd-1']]);
});

test('a bad mapping file names its field', () => {
  assert.throws(() => parsePlanMapping('plans: [a, b]', 'yaml'), refused('plans', /must map legacy plan codes/));
  assert.throws(() => parsePlanMapping('plans:\n  STRM_STD_M: 3\n', 'yaml'), refused('plans.STRM_STD_M', /must be a Tally plan id, got 3/));
  assert.throws(() => parsePlanMapping('plan:\n  A: basic\n', 'yaml'), refused('plan', /not a known field/));
  assert.throws(() => parsePlanMapping('{"plans":', 'json'), refused('plans', /not valid JSON/));
  assert.throws(() => parsePlanMapping('- 1', 'yaml'), refused('plans', /must be an object/));
});

test('every legacy plan in use needs a mapping: all missing ones are listed at once', () => {
  const mapping = parsePlanMapping('plans:\n  STRM_STD_M: standard\n', 'yaml');
  assert.throws(() => checkPlanMapping(mapping, catalog, ['STRM_STD_M', 'STRM_PRE_M', 'STRM_1S_2010', 'STRM_PRE_M'], 'DE'),
    refused('plans', /in use in DE without a mapping: STRM_1S_2010, STRM_PRE_M; .*nothing of DE was written/));
  assert.doesNotThrow(() => checkPlanMapping(mapping, catalog, ['STRM_STD_M'], 'DE'));
});

test('a mapping to a plan Tally does not have is refused, naming it', () => {
  const mapping = parsePlanMapping('plans:\n  STRM_STD_M: standard\n  STRM_PRE_M: platinum\n', 'yaml');
  assert.throws(() => checkPlanMapping(mapping, catalog, ['STRM_STD_M'], 'US'), refused('plans.STRM_PRE_M', /STRM_PRE_M → platinum/));
});

test('the reference legacy\'s mapping covers every plan code it has, onto Tally\'s built-in catalog', () => {
  assert.doesNotThrow(() => checkPlanMapping(referenceLegacyPlans, catalog, legacyPlans.map((p) => p.plan_cd), 'US'));
});
