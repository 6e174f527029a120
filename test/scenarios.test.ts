import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidInput } from '../src/domain/errors.ts';
import { mismatches } from '../src/scenario/expectations.ts';
import { runScenario } from '../src/scenario/run-scenario.ts';
import { openTestServices } from './support/engine.ts';
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
    const result = await runScenario(scenario, openTestServices);
    assert.deepEqual(mismatches(scenario.expect, result), []);
    assert.equal(result.revenue.balanced, true, 'the journal must balance every day');
  });
}

// Invalid stories: each names, in an `# error:` comment, the field its error must name.
const invalidDir = join(dir, 'invalid');
for (const file of readdirSync(invalidDir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`invalid scenario ${file} is refused naming its field`, async () => {
    const text = readFileSync(join(invalidDir, file), 'utf8');
    const field = /^# error: (\S+)/m.exec(text)?.[1];
    assert.ok(field, 'the file must say which field its error names');
    await assert.rejects(async () => runScenario(readScenarioFile(join(invalidDir, file)), openTestServices), (err: unknown) => {
      assert.ok(err instanceof InvalidInput, String(err));
      assert.equal(err.field, field);
      return true;
    });
  });
}
