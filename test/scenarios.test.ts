import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mismatches } from '../src/scenario/expectations.ts';
import { runScenario } from '../src/scenario/run-scenario.ts';
import { readScenarioFile } from '../src/scenario/scenario-file.ts';

// Every billing rule is specified as a story in test/scenarios with hand-computed expectations.
const dir = join(import.meta.dirname, 'scenarios');
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

test('there are at least 25 scenario files', () => {
  assert.ok(files.length >= 25, `only ${files.length} scenarios`);
});

for (const file of files) {
  test(`scenario ${file}`, async () => {
    const scenario = readScenarioFile(join(dir, file));
    assert.ok(scenario.expect, 'a scenario without expectations proves nothing');
    const result = await runScenario(scenario);
    assert.deepEqual(mismatches(scenario.expect, result), []);
    assert.equal(result.revenue.balanced, true, 'the journal must balance every day');
  });
}
