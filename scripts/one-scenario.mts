import { readScenarioFile } from '../src/scenario/scenario-file.ts';
import { runScenario } from '../src/scenario/run-scenario.ts';
import { openTestServices } from '../test/support/engine.ts';
const s = readScenarioFile(process.argv[2]!);
for (let i = 0; i < 2; i++) {
  console.time('open');
  const svc = await openTestServices();
  console.timeEnd('open');
  await svc.store.close();
}
console.time('run');
await runScenario(s, openTestServices);
console.timeEnd('run');
process.exit(0);
