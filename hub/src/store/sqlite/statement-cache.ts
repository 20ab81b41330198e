// Prepared statements kept by their SQL text. node:sqlite finalizes a statement only when its JS
// object is collected, and V8 does not see the native memory behind that small object, so
// preparing on every call (the key lookup of each handshake, the agent row of each registration,
// …) left thousands of statements alive between collections: native memory that grew with the
// number of connecting agents. Bounded, least recently used out, because a few queries build
// their SQL (label filters).
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** What query modules need of the database: a statement for some SQL. */
export interface Statements {
  prepare(sql: string): StatementSync;
}

const DEFAULT_LIMIT = 256;

export class StatementCache implements Statements {
  readonly #db: DatabaseSync;
  readonly #limit: number;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, limit = DEFAULT_LIMIT) {
    this.#db = db;
    this.#limit = limit;
  }

  prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement) {
      // Most recently used last, so the first entry is the one to drop.
      this.#statements.delete(sql);
    } else {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= this.#limit) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}
