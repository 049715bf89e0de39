/**
 * `homelab:net:Cilium` — Cilium as kube-proxy replacement (agent, operator, envoy), installed as the Helm release the
 * cilium CLI itself would create, then verified on the control plane like `cilium status --wait`.
 *
 * Children:
 *   cilium-version-guard-script → cilium-version-guard      — on the control plane, before every install or upgrade
 *   cilium-release (Helm `cilium` in kube-system)          — after the first control plane is initialised and the guard
 *   cilium-cli-script → cilium-cli (pinned, checksummed)    — on the control plane
 *   cilium-check-script → cilium-check                       — after the release, the CLI and every node's join
 *
 * The release does not wait for workers to join: its DaemonSet rolls onto each node as it joins, so joins and the
 * install overlap. It does come after every node's `leave` step (created right after the node's membership, long
 * before its join), so that `pulumi destroy` uninstalls Cilium before any node is drained and reset. `ready` (the
 * check) is what "Cilium ready on every node" means for the components that come next.
 *
 * A `ciliumVersion` change upgrades the same release in place (pulumi-kubernetes replaces a Release only when its
 * `name` or `namespace` changes: `forceNewFields` in provider/pkg/provider/helm_release.go; anything else is a
 * `helm upgrade`). The guard re-runs first (its script carries the target version) and refuses a skipped minor; the
 * check re-runs after (it is triggered by the chart version).
 */
import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes";
import { remote, types } from "@pulumi/command";
import * as YAML from "yaml";
import { versionGuardCommand } from "../helm/guard";
import { contentHash, runStaged } from "../remote/script";
import { stageScript } from "../remote/stage";
import { ciliumCheckScript, ciliumCliScript, ciliumVersionGuardScript } from "./scripts";
import type { CiliumConfig } from "./settings";

/** Helm repository of the Cilium chart (the cilium CLI's default, `defaults.HelmRepository`). */
export const CILIUM_HELM_REPO = "https://helm.cilium.io";
/** The release name and namespace the cilium CLI looks for. */
export const CILIUM_RELEASE = { name: "cilium", namespace: "kube-system" } as const;

/** The control plane where the CLI is installed and the checks run. */
export interface CiliumControlPlane {
    /** SSH connection to the first control plane. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** `user@host:port` of that connection (staged files live in the user's home; a change re-uploads them). */
    readonly sshTarget: string;
    /** Its `kubeadm init` step: the API server exists and `.homelab/` is staged after it. */
    readonly initialised: pulumi.Resource;
}

/** Arguments of the `Cilium` component. */
export interface CiliumArgs {
    /** Resolved settings: chart and CLI versions, effective chart values. */
    config: CiliumConfig;
    /** Kubernetes provider for the new cluster (built from the admin kubeconfig). */
    provider: kubernetes.Provider;
    /** The first control plane. */
    controlPlane: CiliumControlPlane;
    /** The last bootstrap step of every node: the check waits for all of them, so every node is verified. */
    nodesReady: pulumi.Resource[];
    /**
     * Every node's `leave` step (whose delete drains and deletes the node). The release is created after them, so it is
     * deleted before them: on `pulumi destroy` Cilium goes before the nodes.
     */
    nodesLeave?: pulumi.Resource[];
    /** All node names; a change (node added or removed) re-runs the check. */
    nodeNames: string[];
    /** Bound on `cilium status --wait` (Go duration). Default `10m`. */
    waitDuration?: string;
}

/** Cilium installed and verified. */
export class Cilium extends pulumi.ComponentResource {
    /** The Helm release. */
    public readonly release: kubernetes.helm.v3.Release;
    /** The verification step: Cilium is ready on every node once it has run. */
    public readonly ready: pulumi.Resource;
    /** Chart version installed. */
    public readonly chartVersion: pulumi.Output<string>;
    /** Output of the check (`cilium status` summary and the result). */
    public readonly checkOutput: pulumi.Output<string>;

    constructor(name: string, args: CiliumArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:net:Cilium", name, {}, opts);
        const { config, controlPlane } = args;
        const connection = controlPlane.connection;

        const stage = (step: string, file: string, text: string): remote.CopyToRemote =>
            stageScript(`${name}-${step}-script`, { connection, sshTarget: controlPlane.sshTarget, file, text }, {
                parent: this,
                dependsOn: [controlPlane.initialised],
            });

        // The running version exists only on the cluster: the guard reads it there, before the release moves.
        const guard = versionGuardCommand(
            name,
            { connection, file: "cilium-version-guard.sh", text: ciliumVersionGuardScript(config.chartVersion), stage },
            this,
        );

        this.release = new kubernetes.helm.v3.Release(
            `${name}-release`,
            {
                name: CILIUM_RELEASE.name,
                namespace: CILIUM_RELEASE.namespace,
                chart: "cilium",
                version: config.chartVersion,
                repositoryOpts: { repo: CILIUM_HELM_REPO },
                values: config.values,
                // Real Helm waits for the agent, operator and envoy to become ready on the nodes that exist now.
                skipAwait: false,
                timeout: 600,
                maxHistory: 10,
                // Not atomic: on a first install a timeout (slow image pulls on a lab link) would uninstall Cilium and
                // take the evidence with it, leaving a cluster with no CNI. A failed release stays for inspection and
                // the next `pulumi up` upgrades it in place under the same name.
                atomic: false,
                cleanupOnFail: false,
            },
            { parent: this, provider: args.provider, dependsOn: [controlPlane.initialised, guard, ...(args.nodesLeave ?? [])] },
        );

        const cliText = ciliumCliScript({ version: config.cliVersion });
        const cliFile = stage("cli", "cilium-cli.sh", cliText);
        const cli = new remote.Command(
            `${name}-cli`,
            { connection, create: runStaged("cilium-cli.sh"), triggers: [contentHash(cliText)] },
            { parent: this, dependsOn: [cliFile] },
        );

        const checkText = ciliumCheckScript({ istio: config.istio, waitDuration: args.waitDuration ?? "10m" });
        const checkFile = stage("check", "cilium-check.sh", checkText);
        const check = new remote.Command(
            `${name}-check`,
            {
                connection,
                create: runStaged("cilium-check.sh"),
                // Re-verify whenever what is checked changes: the script, the chart, its values, or the set of nodes.
                triggers: [
                    contentHash(checkText),
                    config.chartVersion,
                    contentHash(YAML.stringify(config.values, { sortMapEntries: true })),
                    [...args.nodeNames].sort().join(","),
                ],
            },
            { parent: this, dependsOn: [this.release, cli, checkFile, ...args.nodesReady] },
        );

        this.ready = check;
        this.chartVersion = this.release.version;
        this.checkOutput = check.stdout;
        this.registerOutputs({ chartVersion: this.chartVersion, checkOutput: this.checkOutput });
    }
}
