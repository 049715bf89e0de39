/**
 * Day-2 operation keys (upgradeWorkerBatch, etcdSnapshotDir, etcdSnapshotRetain, etcdSnapshotSchedule): defaults,
 * accepted values, and one message naming the key and the fix per bad input, before anything is registered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type RawConfig } from "../../components/config";
import { OPERATIONS_BAD_INPUTS } from "./bad-inputs";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRzXbNm6n+HXQR52zAYPUHlzj1nzBJZEwDuyfdjKpI+";
const cp = { name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 };
const worker = (n: number): Record<string, string> => ({ name: `worker${n}`, host: `192.0.2.${10 + n}`, role: "worker", hostKey: ED25519 });
const good: RawConfig = { nodes: JSON.stringify([cp, worker(1), worker(2), worker(3)]) };
const withKey = { hasPrivateKey: true };

test("the operation keys default to one worker at a time and five snapshots in /var/lib/homelab, no timer", () => {
    const { config, errors, warnings } = resolveConfig(good, withKey);
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config?.operations, {
        upgradeWorkerBatch: 1,
        etcdSnapshotDir: "/var/lib/homelab/etcd-snapshots",
        etcdSnapshotRetain: 5,
        etcdSnapshotSchedule: "",
    });
});

test("explicit operation settings are taken as given (a trailing slash dropped)", () => {
    const { config, errors } = resolveConfig(
        { ...good, upgradeWorkerBatch: "2", etcdSnapshotDir: "/srv/backup/etcd/", etcdSnapshotRetain: "30", etcdSnapshotSchedule: "Mon..Fri *-*-* 02:30:00" },
        withKey,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.operations, {
        upgradeWorkerBatch: 2,
        etcdSnapshotDir: "/srv/backup/etcd",
        etcdSnapshotRetain: 30,
        etcdSnapshotSchedule: "Mon..Fri *-*-* 02:30:00",
    });
    for (const schedule of ["daily", "hourly", "*-*-* 03:00:00", "Sun *-*-* 04:00", "*:0/15"]) {
        assert.deepEqual(resolveConfig({ ...good, etcdSnapshotSchedule: schedule }, withKey).errors, [], schedule);
    }
});

test("a batch that drains every worker at once is a warning", () => {
    const { config, warnings } = resolveConfig({ ...good, upgradeWorkerBatch: "3" }, withKey);
    assert.ok(config);
    assert.deepEqual(warnings, [
        "upgradeWorkerBatch: 3 drains all 3 workers at once during an upgrade — pods have nowhere to go; use a smaller batch",
    ]);
});


for (const { rule, raw, message } of OPERATIONS_BAD_INPUTS) {
    test(`bad input is refused with a message naming the key and the fix: ${rule}`, () => {
        const { config, errors } = resolveConfig(raw, withKey);
        assert.equal(config, undefined, "no config may come back when there is an error");
        assert.equal(errors.length, 1, errors.join("\n"));
        assert.match(errors[0], message);
    });
}
