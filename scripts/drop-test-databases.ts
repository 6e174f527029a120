// Drops the databases test runs create on a server engine, so every run starts from fresh ones.
import { dropTestDatabases, engineUnderTest } from '../test/support/engine.ts';

const dropped = await dropTestDatabases();
if (dropped) console.error(`dropped ${dropped} ${engineUnderTest} test database(s)`);
