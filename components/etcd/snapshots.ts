/**
 * `homelab:etcd:EtcdSnapshots` — etcd snapshots on the first control plane.
 *
 * Children: `etcd-snapshot-tool-script` (the tool, staged) → `etcd-snapshot-install` (installs it as
 * /usr/local/sbin/homelab-etcd-snapshot, plus the optional systemd timer) → `etcd-snapshot-on-demand` (one snapshot, taken when
 * the stack first creates it and again on `pulumi up --replace` of it: the on-demand snapshot). The upgrade chain takes
 * its pre-upgrade snapshot with the same tool.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { contentHash } from "../remote/script";
import { runStagedStep, stageScript, stagedStep, type HostRef } from "../remote/stage";
import { SNAPSHOT_TOOL, snapshotInstallScript, snapshotToolScript } from "./scripts";

/** Arguments of `EtcdSnapshots`. */
export interface EtcdSnapshotsArgs {
    /** The control plane that ran kubeadm init (its etcd pod takes the snapshots). */
    controlPlane: HostRef;
    /** Absolute directory on the control plane for the snapshots. */
    dir: string;
    /** How many snapshots to keep. */
    retain: number;
    /** systemd OnCalendar expression of a periodic snapshot; empty for none. */
    schedule: string;
}

/** etcd snapshot tooling and the on-demand snapshot. */
export class EtcdSnapshots extends pulumi.ComponentResource {
    /** Path of the snapshot the `etcd-snapshot-on-demand` step took (on the control plane). */
    public readonly snapshotPath: pulumi.Output<string>;
    /** The installed tool (the pre-upgrade snapshot needs it). */
    public readonly installed: pulumi.Resource;
    /** Where the tool lives on the control plane. */
    public readonly tool: pulumi.Output<string>;

    constructor(name: string, args: EtcdSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:etcd:EtcdSnapshots", name, {}, opts);
        const host = args.controlPlane;
        const toolText = snapshotToolScript({ nodeName: host.nodeName, dir: args.dir, retain: args.retain });
        const toolFile = stageScript(
            `${name}-tool-script`,
            { connection: host.connection, sshTarget: host.sshTarget, file: "etcd-snapshot.sh", text: toolText },
            { parent: this, dependsOn: [host.ready] },
        );
        const installText = snapshotInstallScript({ schedule: args.schedule });
        const install = stagedStep(
            {
                name: `${name}-install`,
                host,
                file: "etcd-snapshot-install.sh",
                text: installText,
                triggers: [contentHash(toolText)],
                dependsOn: [host.ready, toolFile],
            },
            { parent: this },
        );
        const snapshot: remote.Command = runStagedStep(
            {
                name: `${name}-on-demand`,
                host,
                file: "etcd-snapshot.sh",
                text: toolText,
                args: ["on-demand"],
                dependsOn: [install],
            },
            toolFile,
            { parent: this },
        );

        this.snapshotPath = snapshot.stdout.apply((s) => s.trim());
        this.installed = install;
        this.tool = pulumi.output(SNAPSHOT_TOOL);
        this.registerOutputs({ snapshotPath: this.snapshotPath, tool: this.tool });
    }
}
