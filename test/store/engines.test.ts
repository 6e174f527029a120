import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newMember } from '../../src/domain/member.ts';
import { closeServices } from '../../src/jobs/services.ts';
import { openStore, parseStoreUrl, StoreError } from '../../src/store/connect.ts';
import { loadMember, saveMembers, VersionConflict } from '../../src/store/members.ts';
import { engineUnderTest, freshStoreUrl, openTestServices } from '../support/engine.ts';

test('store URLs: every engine by scheme, and a bad one is refused naming the setting without its password', () => {
  assert.deepEqual(parseStoreUrl('sqlite:var/x.db'), { engine: 'sqlite', target: 'var/x.db' });
  assert.equal(parseStoreUrl('mariadb://u:p@db:3306/billing').engine, 'mysql');
  assert.equal(parseStoreUrl('postgresql://u@db/billing').database, 'billing');
  assert.throws(() => parseStoreUrl('oracle://legacy'), /TALLY_DB_URL "oracle:\/\/legacy" is not a database URL/);
  assert.throws(() => parseStoreUrl('mysql://u:secret@db:3306/', 'TALLY_MEMBER_DB_URL'), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.match(err.message, /^TALLY_MEMBER_DB_URL "mysql:\/\/u:\*\*\*@db:3306\/" names no database/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  assert.throws(() => parseStoreUrl('sqlite:'), /names no file/);
});

test('an unreachable server is one clear error, not a hang or a driver stack', async () => {
  for (const url of ['mysql://root@127.0.0.1:1/tally', 'postgres://root@127.0.0.1:1/tally']) {
    await assert.rejects(openStore(url), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /^cannot reach the (mysql|postgres) store at .*ECONNREFUSED/);
      return true;
    });
  }
});

test('a database at a newer schema than this code is refused and left as it is', async () => {
  const url = await freshStoreUrl();
  const store = await openStore(url);
  await store.db.insertInto('kysely_migration' as never).values({ name: '9999-from-the-future', timestamp: new Date().toISOString() } as never).execute();
  await store.close();
  await assert.rejects(openStore(url), /newer schema \(9999-from-the-future\) than this version of Tally/);
  const again = await openStore(url).catch((err: unknown) => err);
  assert.ok(again instanceof StoreError);
});

test(`the versioned member write refuses a stale version and writes nothing (${engineUnderTest})`, async () => {
  const svc = await openTestServices();
  const db = svc.memberStore.db;
  try {
    const m = newMember({ id: 'm1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok' }, svc.billing.catalog);
    await saveMembers(db, [m]);
    const stored = (await loadMember(db, 'm1'))!;
    assert.equal(stored.version, 1);
    // Two writers read version 1; the first wins, the second is told, and nothing of it lands.
    await saveMembers(db, [{ ...stored, email: 'first@example.com' }]);
    await assert.rejects(saveMembers(db, [{ ...stored, email: 'second@example.com' }]), VersionConflict);
    // A new member whose id exists is a conflict too, not an overwrite.
    await assert.rejects(saveMembers(db, [{ ...m, email: 'imposter@example.com' }]), VersionConflict);
    const now = (await loadMember(db, 'm1'))!;
    assert.equal(now.version, 2);
    assert.equal(now.email, 'first@example.com');
    // Case matters in keys on every engine (byte-order collation): M1 is another member.
    await saveMembers(db, [{ ...m, id: 'M1' }]);
    assert.equal((await loadMember(db, 'M1'))!.version, 1);
  } finally {
    await closeServices(svc);
  }
});
