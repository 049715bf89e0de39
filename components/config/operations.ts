/**
 * Day-2 operation settings: how upgrades roll through the workers and where etcd snapshots go. Pure: raw strings in,
 * typed settings or one message per problem (naming the key and the fix) out.
 */

/** Defaults, as `Pulumi.yaml` declares them (strings, as the engine hands config to the program). */
export const OPERATIONS_DEFAULTS = {
    upgradeWorkerBatch: "1",
    etcdSnapshotDir: "/var/lib/homelab/etcd-snapshots",
    etcdSnapshotRetain: "5",
    etcdSnapshotSchedule: "",
} as const;

/** Raw values of the operation keys. */
export type OperationsRaw = { readonly [K in keyof typeof OPERATIONS_DEFAULTS]: string };

/** Validated operation settings. */
export interface OperationsConfig {
    /** How many workers are drained and upgraded at the same time during a Kubernetes upgrade. */
    readonly upgradeWorkerBatch: number;
    /** Absolute directory on the first control plane that keeps the etcd snapshots. */
    readonly etcdSnapshotDir: string;
    /** How many snapshots to keep. */
    readonly etcdSnapshotRetain: number;
    /** systemd OnCalendar expression of the periodic snapshot; empty = none. */
    readonly etcdSnapshotSchedule: string;
}

/** Directories kubeadm reset empties or owns: snapshots there would vanish with the node. */
const RESET_OWNED = ["/var/lib/etcd", "/etc/kubernetes", "/var/lib/kubelet"];

function integerKey(key: string, text: string, min: number, max: number, hint: string, errors: string[]): number {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
        errors.push(`${key}: "${text}" — use a whole number from ${min} to ${max} (${hint})`);
        return min;
    }
    return value;
}

/** Checks the operation keys; pushes one message per problem. */
export function resolveOperationsConfig(raw: OperationsRaw, workerCount: number, errors: string[], warnings: string[]): OperationsConfig {
    const upgradeWorkerBatch = integerKey(
        "upgradeWorkerBatch",
        raw.upgradeWorkerBatch,
        1,
        100,
        "workers drained and upgraded at once; 1 keeps the most capacity",
        errors,
    );
    if (workerCount > 0 && upgradeWorkerBatch >= workerCount && workerCount > 1) {
        warnings.push(
            `upgradeWorkerBatch: ${upgradeWorkerBatch} drains all ${workerCount} workers at once during an upgrade — ` +
                "pods have nowhere to go; use a smaller batch",
        );
    }

    const dir = raw.etcdSnapshotDir.replace(/\/+$/, "");
    if (!/^\/[A-Za-z0-9._/-]+$/.test(dir) || dir.split("/").some((part) => part === "..")) {
        errors.push(
            `etcdSnapshotDir: "${raw.etcdSnapshotDir}" — use an absolute directory of letters, digits, '.', '_', '-' and '/' ` +
                `(no ..), e.g. ${OPERATIONS_DEFAULTS.etcdSnapshotDir}`,
        );
    } else if (RESET_OWNED.some((owned) => dir === owned || dir.startsWith(`${owned}/`))) {
        errors.push(
            `etcdSnapshotDir: ${dir} lies in a directory kubeadm reset empties — keep snapshots elsewhere, e.g. ` +
                OPERATIONS_DEFAULTS.etcdSnapshotDir,
        );
    }

    const etcdSnapshotRetain = integerKey(
        "etcdSnapshotRetain",
        raw.etcdSnapshotRetain,
        1,
        1000,
        "snapshots kept; older ones are deleted",
        errors,
    );

    const schedule = raw.etcdSnapshotSchedule.trim();
    // systemd calendar expressions: weekdays, dates, times, ranges, lists and repetitions, or shorthands like daily.
    if (schedule !== "" && (!/^[A-Za-z0-9*:/,.~ +-]+$/.test(schedule) || schedule.length > 100)) {
        errors.push(
            `etcdSnapshotSchedule: "${raw.etcdSnapshotSchedule}" is not a systemd OnCalendar expression — use e.g. daily, ` +
                '"*-*-* 03:00:00" or "Mon..Fri 02:30" (check it with systemd-analyze calendar), or leave it empty for no timer',
        );
    }

    return { upgradeWorkerBatch, etcdSnapshotDir: dir, etcdSnapshotRetain, etcdSnapshotSchedule: schedule };
}
