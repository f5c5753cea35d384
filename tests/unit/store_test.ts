// The state store: the migration from schema 1 (identity column) to 2 (processes and
// refs tables), references between objects, the TCP token file and error quoting.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, schemaVersion } from "../../src/store/db.ts";
import { ProcessStore } from "../../src/store/processes.ts";
import { RefStore } from "../../src/store/refs.ts";
import { VmStore } from "../../src/store/vm_store.ts";
import { ChangeFeed } from "../../src/store/feed.ts";
import { assertUnused } from "../../src/daemon/controllers/common.ts";
import { ensureToken, readToken, tokenMatches } from "../../src/api/auth.ts";
import { ApiError, MAX_MESSAGE, quote, Status } from "../../src/api/errors.ts";

function tmp(): string {
  return mkdtempSync("/tmp/isd-store-");
}

Deno.test("migration 2 moves a running VM's QEMU identity into processes", () => {
  const dir = tmp();
  try {
    const path = join(dir, "state.db");
    // A schema-1 database as the previous release wrote it, with one running VM.
    const v1 = new DatabaseSync(path);
    v1.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
      INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00Z');
      CREATE TABLE vms (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, labels TEXT NOT NULL,
        annotations TEXT NOT NULL, spec TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, generation INTEGER NOT NULL, qemu_identity TEXT);
      CREATE TABLE port_allocations (protocol TEXT NOT NULL, host_port INTEGER NOT NULL,
        guest_port INTEGER NOT NULL, vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
        PRIMARY KEY (protocol, host_port), UNIQUE (vm_id, protocol, guest_port));`);
    v1.prepare("INSERT INTO vms VALUES (?, ?, '{}', '{}', '{}', ?, 't', 't', 3, ?)").run(
      "id-1",
      "web",
      JSON.stringify({ state: "RUNNING", pid: 4242 }),
      JSON.stringify({ pid: 4242, startTime: "99", binary: "/q", accelerator: "tcg" }),
    );
    v1.prepare("INSERT INTO vms VALUES ('id-2', 'cold', '{}', '{}', '{}', '{}', 't', 't', 1, NULL)")
      .run();
    v1.close();

    const db = openDatabase(path);
    assert.equal(schemaVersion(db), 8);
    const procs = new ProcessStore(db).list();
    assert.equal(procs.length, 1);
    assert.deepEqual(procs[0].owner, { kind: "VM", id: "id-1" });
    assert.equal(procs[0].role, "qemu");
    assert.equal(procs[0].pid, 4242);
    assert.equal(procs[0].startTime, "99");
    assert.deepEqual(procs[0].info, { binary: "/q", accelerator: "tcg" });
    const cols = (db.prepare("PRAGMA table_info(vms)").all() as Array<{ name: string }>).map((
      c,
    ) => c.name);
    assert.ok(!cols.includes("qemu_identity"));
    assert.deepEqual(new VmStore(db, new ChangeFeed(db)).list().map((v) => v.meta.name), [
      "cold",
      "web",
    ]);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("refs: users of an object are named, and deleting it is refused", () => {
  const dir = tmp();
  const db = openDatabase(join(dir, "state.db"));
  try {
    const refs = new RefStore(db);
    refs.set({ kind: "VM", id: "v1" }, [
      { field: "spec.boot_volume", kind: "VOLUME", id: "vol-1" },
      { field: "spec.volumes[0]", kind: "VOLUME", id: "vol-2" },
    ]);
    refs.set({ kind: "VM", id: "v2" }, [{ field: "spec.volumes[1]", kind: "VOLUME", id: "vol-2" }]);
    assert.deepEqual(refs.usersOf({ kind: "VOLUME", id: "vol-2" }).map((u) => u.id), ["v1", "v2"]);
    const names: Record<string, string> = { v1: "web", v2: "db" };
    assert.throws(
      () => assertUnused(refs, "VOLUME", { id: "vol-2", name: "data" }, (_k, id) => names[id]),
      (e: ApiError) => {
        assert.equal(Status[e.code], "FAILED_PRECONDITION");
        assert.match(
          e.message,
          /volume "data" is in use by vm "web" \(spec\.volumes\[0\]\), vm "db"/,
        );
        return true;
      },
    );
    // Replacing a VM's references drops the old ones; clearing drops all.
    refs.set({ kind: "VM", id: "v1" }, []);
    assert.deepEqual(refs.usersOf({ kind: "VOLUME", id: "vol-1" }), []);
    refs.clear({ kind: "VM", id: "v2" });
    assertUnused(refs, "VOLUME", { id: "vol-2", name: "data" }, () => "");
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("token: created once with mode 0600, reused, compared exactly", () => {
  const dir = tmp();
  try {
    const t = ensureToken(dir);
    assert.ok(t.length >= 32);
    assert.equal(statSync(join(dir, "token")).mode & 0o777, 0o600);
    assert.equal(ensureToken(dir), t, "the same token on the next start");
    assert.equal(readToken(dir), t);
    assert.ok(tokenMatches(`Bearer ${t}`, t));
    for (const bad of [undefined, "", t, `Bearer ${t}x`, `Bearer ${t.slice(1)}`, `bearer ${t}`]) {
      assert.ok(!tokenMatches(bad, t), String(bad));
    }
    writeFileSync(join(dir, "token"), "short\n", { mode: 0o600 });
    assert.throws(() => ensureToken(dir), /no usable token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("our gRPC status codes are grpc-js's", async () => {
  const { status } = await import("@grpc/grpc-js");
  for (let code = 0; code <= 16; code++) assert.equal(Status[code], status[code], String(code));
});

Deno.test("errors quote at most 100 characters and are capped", () => {
  assert.equal(quote("web"), '"web"');
  const q = quote("x".repeat(70_000));
  assert.ok(q.length < 140, q);
  assert.match(q, /… \(70000 characters\)$/);
  const e = new ApiError(Status.INTERNAL, "y".repeat(10_000));
  assert.equal(e.message.length, MAX_MESSAGE);
});
