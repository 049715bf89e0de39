/**
 * Day-2 operation keys (upgradeWorkerBatch, etcdSnapshotDir, etcdSnapshotRetain, etcdSnapshotSchedule): defaults,
 * accepted values, and one message naming the key and the fix per bad input, before anything is registered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type RawConfig } from "../../components/config";

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

const badInputs: readonly { rule: string; raw: RawConfig; message: RegExp }[] = [
    { rule: "batch zero", raw: { ...good, upgradeWorkerBatch: "0" }, message: /^upgradeWorkerBatch: "0" — use a whole number from 1 to 100 \(workers drained and upgraded at once/ },
    { rule: "batch not a number", raw: { ...good, upgradeWorkerBatch: "all" }, message: /^upgradeWorkerBatch: "all" — use a whole number from 1 to 100/ },
    { rule: "relative snapshot dir", raw: { ...good, etcdSnapshotDir: "backups/etcd" }, message: /^etcdSnapshotDir: "backups\/etcd" — use an absolute directory .* e\.g\. \/var\/lib\/homelab\/etcd-snapshots$/ },
    { rule: "snapshot dir with ..", raw: { ...good, etcdSnapshotDir: "/var/lib/../etc" }, message: /^etcdSnapshotDir: "\/var\/lib\/\.\.\/etc" — use an absolute directory .*\(no \.\.\)/ },
    { rule: "snapshot dir with a space", raw: { ...good, etcdSnapshotDir: "/srv/etcd backups" }, message: /^etcdSnapshotDir: "\/srv\/etcd backups" — use an absolute directory/ },
    { rule: "snapshot dir wiped by reset", raw: { ...good, etcdSnapshotDir: "/var/lib/etcd/snapshots" }, message: /^etcdSnapshotDir: \/var\/lib\/etcd\/snapshots lies in a directory kubeadm reset empties — keep snapshots elsewhere/ },
    { rule: "snapshot dir in /etc/kubernetes", raw: { ...good, etcdSnapshotDir: "/etc/kubernetes" }, message: /^etcdSnapshotDir: \/etc\/kubernetes lies in a directory kubeadm reset empties/ },
    { rule: "retain zero", raw: { ...good, etcdSnapshotRetain: "0" }, message: /^etcdSnapshotRetain: "0" — use a whole number from 1 to 1000 \(snapshots kept/ },
    { rule: "retain negative", raw: { ...good, etcdSnapshotRetain: "-3" }, message: /^etcdSnapshotRetain: "-3" — use a whole number from 1 to 1000/ },
    { rule: "schedule with a quote", raw: { ...good, etcdSnapshotSchedule: "daily'; rm -rf /" }, message: /^etcdSnapshotSchedule: "daily'; rm -rf \/" is not a systemd OnCalendar expression — use e\.g\. daily/ },
    { rule: "schedule with a newline", raw: { ...good, etcdSnapshotSchedule: "daily\nExecStart=/bin/evil" }, message: /^etcdSnapshotSchedule: "daily\nExecStart=\/bin\/evil" is not a systemd OnCalendar expression/ },
];

for (const { rule, raw, message } of badInputs) {
    test(`bad input is refused with a message naming the key and the fix: ${rule}`, () => {
        const { config, errors } = resolveConfig(raw, withKey);
        assert.equal(config, undefined, "no config may come back when there is an error");
        assert.equal(errors.length, 1, errors.join("\n"));
        assert.match(errors[0], message);
    });
}
