/**
 * `homelab:k8s:ClusterUpgrade` — moves a running cluster to `kubernetesVersion` (one minor, or patches), in kubeadm's
 * order, and does nothing when every node already runs it (which is also the case right after a fresh install).
 *
 * Children, each waiting for the one before (names derive from node names, never positions):
 *   upgrade-snapshot                      first control plane: refuses a downgrade or a skipped minor, etcd snapshot
 *   <first>-upgrade                       kubeadm upgrade plan + apply, drain, kubelet/kubectl, uncordon
 *   <cp>-upgrade, one at a time           kubeadm upgrade node on the other control planes
 *   per batch of upgradeWorkerBatch workers, the batch in parallel:
 *     <w>-upgrade-drain (on the first control plane) → <w>-upgrade (on the worker) → <w>-upgrade-uncordon
 *   upgrade-verify                        read-only: every node at the version, no kube-proxy
 *
 * Every step carries its script's content hash and the target version in `triggers`, so a version change re-runs
 * the whole chain in this order; no step has a `delete`.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { runStagedStep, stageScript, stagedStep, type HostRef } from "../remote/stage";
import { upgradeNodeScript, upgradeSnapshotScript, upgradeVerifyScript, upgradeWorkerScript } from "./upgrade-scripts";

/** The cluster's nodes, in upgrade order. */
export interface UpgradeNodes {
    /** The control plane that ran kubeadm init: `kubeadm upgrade apply` runs here, and every control-plane-side step. */
    readonly primary: HostRef;
    /** Other control planes, upgraded one at a time in this order. */
    readonly otherControlPlanes: readonly HostRef[];
    /** Workers, upgraded in batches in this order. */
    readonly workers: readonly HostRef[];
}

/** Arguments of `ClusterUpgrade`. */
export interface ClusterUpgradeArgs {
    /** Target Kubernetes version, `1.34.1`. */
    kubernetesVersion: string;
    /** The nodes. */
    nodes: UpgradeNodes;
    /** Workers drained and upgraded at the same time. */
    workerBatch: number;
    /** What the first step waits for besides the nodes (the installed etcd snapshot tool). */
    after?: readonly pulumi.Resource[];
}

/** Splits `items` into consecutive batches of `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += Math.max(1, size)) {
        out.push(items.slice(i, i + Math.max(1, size)));
    }
    return out;
}

/** The upgrade chain of a cluster. */
export class ClusterUpgrade extends pulumi.ComponentResource {
    /** Path of the pre-upgrade etcd snapshot on the first control plane; empty when no upgrade was pending. */
    public readonly preUpgradeSnapshot: pulumi.Output<string>;
    /** The last step: every node runs the version. */
    public readonly ready: pulumi.Resource;

    constructor(name: string, args: ClusterUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:k8s:ClusterUpgrade", name, {}, opts);
        const version = args.kubernetesVersion;
        const { primary, otherControlPlanes, workers } = args.nodes;
        const all = [primary, ...otherControlPlanes, ...workers];
        const child = { parent: this };
        const nodeCount = all.length;

        const snapshot = stagedStep(
            {
                name: `${name}-snapshot`,
                host: primary,
                file: "upgrade-snapshot.sh",
                text: upgradeSnapshotScript({ kubernetesVersion: version }),
                triggers: [version],
                dependsOn: [...all.map((n) => n.ready), ...(args.after ?? [])],
                uploadAfter: [primary.ready],
            },
            child,
        );

        const upgradeNode = (node: HostRef, role: "first" | "control-plane" | "worker", after: readonly pulumi.Resource[]): remote.Command =>
            stagedStep(
                {
                    name: `${node.nodeName}-upgrade`,
                    host: node,
                    file: "upgrade-node.sh",
                    text: upgradeNodeScript({ role, nodeName: node.nodeName, kubernetesVersion: version, drain: nodeCount > 1 }),
                    triggers: [version],
                    dependsOn: [node.ready, ...after],
                    uploadAfter: [node.ready],
                },
                child,
            );

        let previous: pulumi.Resource[] = [upgradeNode(primary, "first", [snapshot])];
        for (const cp of otherControlPlanes) {
            previous = [upgradeNode(cp, "control-plane", previous)];
        }

        const workerText = upgradeWorkerScript({ kubernetesVersion: version });
        const workerFile = stageScript(
            `${name}-worker-script`,
            { connection: primary.connection, sshTarget: primary.sshTarget, file: "upgrade-worker.sh", text: workerText },
            { ...child, dependsOn: [primary.ready] },
        );
        const onPrimary = (node: HostRef, action: "drain" | "uncordon", after: readonly pulumi.Resource[]): remote.Command =>
            runStagedStep(
                {
                    name: `${node.nodeName}-upgrade-${action}`,
                    host: primary,
                    file: "upgrade-worker.sh",
                    text: workerText,
                    args: [action, node.nodeName],
                    triggers: [version],
                    dependsOn: after,
                },
                workerFile,
                child,
            );
        for (const batch of batches(workers, args.workerBatch)) {
            const barrier = previous;
            previous = batch.map((worker) => {
                const drain = onPrimary(worker, "drain", barrier);
                const upgraded = upgradeNode(worker, "worker", [drain]);
                return onPrimary(worker, "uncordon", [upgraded]);
            });
        }

        const verify = stagedStep(
            {
                name: `${name}-verify`,
                host: primary,
                file: "upgrade-verify.sh",
                text: upgradeVerifyScript({ kubernetesVersion: version }),
                triggers: [version],
                dependsOn: previous,
                uploadAfter: [primary.ready],
            },
            child,
        );

        this.preUpgradeSnapshot = snapshot.stdout.apply((s) => s.trim());
        this.ready = verify;
        this.registerOutputs({ preUpgradeSnapshot: this.preUpgradeSnapshot });
    }
}
