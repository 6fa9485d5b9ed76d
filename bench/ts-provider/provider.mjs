// The seed's TypeScript memory provider, emulated for bench/compare.rs: the same operations on
// the same table shape as compare.rs's `bench_tokens`, done the way that provider does them.
//
//   node provider.mjs sqlite   <file>           [ops] [rounds] [bulk]
//   node provider.mjs postgres <postgres://url> [ops] [rounds] [bulk]
//
// Prints one JSON object on stdout: the median µs per operation over `rounds` rounds of `ops`
// operations (after an uncounted warm-up round of ops/4+1), and the median µs per row over
// min(max(rounds, 1), 3) bulk inserts of `bulk` rows into an emptied table; as compare.rs does.
//
// What the provider does, and so what this does (no more, no less):
// - every public method (tableExists, insertIntoTable, queryTable, updateTableRecord,
//   deleteFromTable; upsertIntoTable in the same style) is async, one interface over both
//   databases, and runs the table-existence query first (SQLite: sqlite_master; PostgreSQL:
//   information_schema.tables), failing when the table is missing;
// - every statement's SQL text is built from the record's keys on each call and prepared anew
//   (better-sqlite3: `db.prepare(sql)` on every call, no statement kept; node-postgres: a plain
//   parameterized query on one held `pg.Client`, i.e. an unnamed statement that the server
//   parses and plans on every call); `SELECT *`, values bound, LIMIT bound too (`LIMIT ?`);
// - JSON columns are JSON.stringify'd on write and JSON.parse'd on read (node-postgres parses
//   JSONB itself when it decodes the row, which is the same one parse);
// - the provider has no bulk API: its caller inserts N rows as one transaction of N calls to
//   insertIntoTable, each with its existence query and its own prepared-per-call INSERT.
//
// SQLite settings as compare.rs's: WAL, synchronous=NORMAL, busy_timeout=5000, foreign_keys=ON,
// cache_size=-16000. The table is `bench_tokens_ts` (in the file given, or in the PostgreSQL
// database given), dropped when the run ends, so the Rust sides are not disturbed.

import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

const TABLE = 'bench_tokens_ts';
const INDEX = 'idx_bench_ts_user_provider';
const JSON_COLUMNS = new Set(['token_data']);

/// compare.rs's `bench_tokens` as memtable creates it (memtable/src/sql/{sqlite,postgres}.rs).
function createTableSql(kind) {
  const bigint = kind === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const json = kind === 'sqlite' ? 'TEXT' : 'JSONB';
  return [
    `CREATE TABLE "${TABLE}" ( "id" TEXT NOT NULL PRIMARY KEY, "user_id" TEXT NOT NULL, ` +
      `"provider" TEXT NOT NULL, "access_token" TEXT NOT NULL, "refresh_token" TEXT, ` +
      `"expires_at" ${bigint}, "scope" TEXT, "token_data" ${json}, ` +
      `"created_at" ${bigint} NOT NULL, "updated_at" ${bigint} NOT NULL )`,
    `CREATE UNIQUE INDEX "${INDEX}" ON "${TABLE}" ("user_id", "provider")`,
  ];
}

/// What both providers share: SQL built per call from the record, JSON in and out, the
/// existence check before every operation. Subclasses say how a statement is run.
class Provider {
  constructor(placeholder) {
    this.placeholder = placeholder;
    this.jsonColumns = new Map(); // table -> Set of its json columns, from its schema
  }

  register(table, jsonColumns) {
    this.jsonColumns.set(table, jsonColumns);
  }

  async ensureTable(table) {
    if (!(await this.tableExists(table))) {
      throw new Error(`Table ${table} does not exist`);
    }
  }

  toDb(table, column, value) {
    if (value !== null && value !== undefined && this.jsonColumns.get(table)?.has(column)) {
      return JSON.stringify(value);
    }
    return value;
  }

  fromDb(table, row) {
    const json = this.jsonColumns.get(table);
    if (json) {
      for (const column of json) {
        const value = row[column];
        if (typeof value === 'string') {
          row[column] = JSON.parse(value);
        }
      }
    }
    return row;
  }

  async insertIntoTable(table, record) {
    await this.ensureTable(table);
    const columns = Object.keys(record);
    const params = columns.map((c) => this.toDb(table, c, record[c]));
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns
      .map((_, i) => this.placeholder(i + 1))
      .join(', ')})`;
    await this.run(sql, params);
    return record.id;
  }

  async queryTable(table, where, options = {}) {
    await this.ensureTable(table);
    const columns = Object.keys(where);
    const params = columns.map((c) => this.toDb(table, c, where[c]));
    let sql = `SELECT * FROM ${table}`;
    if (columns.length > 0) {
      sql += ` WHERE ${columns.map((c, i) => `${c} = ${this.placeholder(i + 1)}`).join(' AND ')}`;
    }
    if (options.limit !== undefined) {
      params.push(options.limit);
      sql += ` LIMIT ${this.placeholder(params.length)}`;
    }
    const rows = await this.all(sql, params);
    return rows.map((row) => this.fromDb(table, row));
  }

  async updateTableRecord(table, id, changes) {
    await this.ensureTable(table);
    const columns = Object.keys(changes);
    const params = columns.map((c) => this.toDb(table, c, changes[c]));
    params.push(id);
    const sql = `UPDATE ${table} SET ${columns
      .map((c, i) => `${c} = ${this.placeholder(i + 1)}`)
      .join(', ')} WHERE id = ${this.placeholder(params.length)}`;
    return (await this.run(sql, params)) > 0;
  }

  async upsertIntoTable(table, record, conflictColumns) {
    await this.ensureTable(table);
    const columns = Object.keys(record);
    const params = columns.map((c) => this.toDb(table, c, record[c]));
    const updates = columns.filter((c) => c !== 'id' && !conflictColumns.includes(c));
    const sql =
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns
        .map((_, i) => this.placeholder(i + 1))
        .join(', ')}) ` +
      `ON CONFLICT (${conflictColumns.join(', ')}) DO UPDATE SET ${updates
        .map((c) => `${c} = excluded.${c}`)
        .join(', ')} RETURNING id`;
    const rows = await this.all(sql, params);
    return rows[0].id;
  }

  async deleteFromTable(table, id) {
    await this.ensureTable(table);
    return (await this.run(`DELETE FROM ${table} WHERE id = ${this.placeholder(1)}`, [id])) > 0;
  }
}

class SqliteProvider extends Provider {
  constructor(Database, path) {
    super(() => '?');
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('cache_size = -16000');
  }

  async tableExists(table) {
    const row = this.db
      .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name=?")
      .get(table);
    return row !== undefined;
  }

  async run(sql, params) {
    return this.db.prepare(sql).run(params).changes;
  }

  async all(sql, params) {
    return this.db.prepare(sql).all(params);
  }

  async exec(sql) {
    this.db.exec(sql);
  }

  async transaction(work) {
    this.db.exec('BEGIN');
    try {
      await work();
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close() {
    this.db.close();
  }
}

class PostgresProvider extends Provider {
  constructor(client) {
    super((n) => `$${n}`);
    this.client = client;
  }

  async tableExists(table) {
    const result = await this.client.query(
      'SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = $1)',
      [table],
    );
    return result.rows[0].exists;
  }

  async run(sql, params) {
    return (await this.client.query(sql, params)).rowCount;
  }

  async all(sql, params) {
    return (await this.client.query(sql, params)).rows;
  }

  async exec(sql) {
    await this.client.query(sql);
  }

  async transaction(work) {
    await this.client.query('BEGIN');
    try {
      await work();
      await this.client.query('COMMIT');
    } catch (error) {
      await this.client.query('ROLLBACK');
      throw error;
    }
  }

  async close() {
    await this.client.end();
  }
}

// Time-ordered keys like compare.rs's `Uuid::now_v7()` (48-bit milliseconds, a 12-bit counter
// within the millisecond, random bits), so that both sides insert into the primary-key index
// in the same order.
let lastMs = 0;
let counter = 0;
const random = Buffer.alloc(16);
function uuidV7() {
  let ms = Date.now();
  if (ms <= lastMs) {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    counter = 0;
  }
  randomFillSync(random);
  random.writeUIntBE(ms, 0, 6);
  random[6] = 0x70 | (counter >> 8);
  random[7] = counter & 0xff;
  random[8] = 0x80 | (random[8] & 0x3f);
  const hex = random.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/// compare.rs's `token(prefix, i)`.
function token(prefix, i) {
  const padded = String(i).padStart(16, '0');
  return {
    id: uuidV7(),
    user_id: `${prefix}-user-${i}`,
    provider: 'github',
    access_token: `gho_${padded}`,
    refresh_token: `ghr_${padded}`,
    expires_at: 1_700_000_000_000 + i,
    scope: 'repo read:user',
    token_data: { token_type: 'bearer', n: i },
    created_at: i,
    updated_at: i,
  };
}

function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/// µs per unit of `n` units of `work`.
async function time(n, work) {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e3 / n;
}

function assert(condition, message) {
  if (!condition) {
    throw new Error(`bench invariant: ${message}`);
  }
}

async function recreate(provider, kind) {
  await provider.exec(`DROP TABLE IF EXISTS "${TABLE}"`);
  for (const sql of createTableSql(kind)) {
    await provider.exec(sql);
  }
}

/// One round of compare.rs's `single_row_round`, on this side only: a batch of inserts that
/// stays (compare.rs's typed insert, so the table grows as the Rust tables do), then insert,
/// point select, update, upsert (conflict on every row) and delete of another batch.
async function singleRowRound(provider, round, ops, samples) {
  const kept = Array.from({ length: ops }, (_, i) => token(`tt${round}`, i));
  const rows = Array.from({ length: ops }, (_, i) => token(`t${round}`, i));
  samples.insert.push(
    await time(ops, async () => {
      for (const row of kept) {
        await provider.insertIntoTable(TABLE, { ...row });
      }
    }),
  );
  samples.insert.push(
    await time(ops, async () => {
      for (const row of rows) {
        await provider.insertIntoTable(TABLE, { ...row });
      }
    }),
  );
  samples.select.push(
    await time(ops, async () => {
      for (const row of rows) {
        const found = await provider.queryTable(
          TABLE,
          { user_id: row.user_id, provider: 'github' },
          { limit: 1 },
        );
        assert(found.length === 1 && found[0].id === row.id, 'point select finds the row');
      }
    }),
  );
  samples.update.push(
    await time(ops, async () => {
      for (let i = 0; i < rows.length; i += 1) {
        const updated = await provider.updateTableRecord(TABLE, rows[i].id, {
          access_token: `new_${i}`,
          updated_at: i,
        });
        assert(updated, 'update finds the row');
      }
    }),
  );
  samples.upsert.push(
    await time(ops, async () => {
      for (const row of rows) {
        const id = await provider.upsertIntoTable(TABLE, { ...row }, ['user_id', 'provider']);
        assert(id === row.id, 'upsert returns the existing id');
      }
    }),
  );
  samples.delete.push(
    await time(ops, async () => {
      for (const row of rows) {
        assert(await provider.deleteFromTable(TABLE, row.id), 'delete finds the row');
      }
    }),
  );
}

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

function usage() {
  process.stderr.write(
    'usage: node provider.mjs <sqlite FILE | postgres URL> [ops=2000] [rounds=5] [bulk=100000]\n',
  );
  process.exit(2);
}

async function main() {
  const [kind, target, opsArg, roundsArg, bulkArg] = process.argv.slice(2);
  if ((kind !== 'sqlite' && kind !== 'postgres') || !target) {
    usage();
  }
  const number = (arg, fallback) => {
    if (arg === undefined) {
      return fallback;
    }
    const n = Number.parseInt(arg, 10);
    if (!Number.isSafeInteger(n) || n < 0) {
      usage();
    }
    return n;
  };
  const ops = number(opsArg, 2000);
  const rounds = number(roundsArg, 5);
  const bulk = number(bulkArg, 100_000);
  assert(ops > 0 && rounds > 0, 'ops and rounds are positive');

  const versions = { node: process.versions.node };
  let provider;
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    provider = new SqliteProvider(Database, target);
    versions['better-sqlite3'] = packageVersion('better-sqlite3');
    versions.sqlite = provider.db.prepare('SELECT sqlite_version() AS v').get().v;
  } else {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    provider = new PostgresProvider(client);
    versions.pg = packageVersion('pg');
    versions.server = (await client.query('SHOW server_version')).rows[0].server_version;
  }

  try {
    await recreate(provider, kind);
    provider.register(TABLE, JSON_COLUMNS);
    const samples = { insert: [], select: [], update: [], upsert: [], delete: [], bulk: [] };
    // A warm-up round, not counted, as in compare.rs.
    await singleRowRound(provider, 99, Math.floor(ops / 4) + 1, samples);
    for (const list of Object.values(samples)) {
      list.length = 0;
    }
    for (let round = 0; round < rounds; round += 1) {
      await singleRowRound(provider, round, ops, samples);
    }
    const bulkRounds = Math.min(Math.max(rounds, 1), 3);
    if (bulk > 0) {
      for (let round = 0; round < bulkRounds; round += 1) {
        const rows = Array.from({ length: bulk }, (_, i) => token(`b${round}`, i));
        await recreate(provider, kind);
        samples.bulk.push(
          await time(bulk, () =>
            provider.transaction(async () => {
              for (const row of rows) {
                await provider.insertIntoTable(TABLE, { ...row });
              }
            }),
          ),
        );
      }
    }
    await provider.exec(`DROP TABLE IF EXISTS "${TABLE}"`);

    const us = {};
    for (const [name, list] of Object.entries(samples)) {
      if (list.length > 0) {
        us[name] = median(list);
      }
    }
    process.stdout.write(
      `${JSON.stringify({
        backend: kind,
        ops,
        rounds,
        bulk_rows: bulk,
        bulk_rounds: bulk > 0 ? bulkRounds : 0,
        bulk_method: 'one transaction of row-at-a-time insertIntoTable() calls',
        versions,
        us,
      })}\n`,
    );
  } finally {
    await provider.close();
  }
}

main().catch((error) => {
  process.stderr.write(`ts-provider: ${error?.stack ?? error}\n`);
  process.exit(1);
});
