/**
 * `homelab:mesh:Istio` — Istio with istio-cni chained after Cilium, as Helm releases in the order istio.io documents,
 * then a smoke test on the control plane.
 *
 *   sidecar: istio-base → istio-cni (chained) → istiod (pilot.cni.enabled) → [istio-ingress]
 *   ambient: istio-base → Gateway API CRDs → istiod (profile ambient) → istio-cni (profile ambient) → ztunnel → [istio-ingress]
 *
 * Everything waits for Cilium to be ready on every node: istio-cni blocks until Cilium's conflist exists.
 *
 * An `istioVersion` change upgrades every release in place, in the same order (a Release is replaced only when its
 * `name` or `namespace` changes: pulumi-kubernetes provider/pkg/provider/helm_release.go `forceNewFields`). That order
 * is also what istio.io documents for in-place Helm upgrades: base first ("The base chart, which contains
 * cluster-wide CRDs and roles, must be upgraded prior to upgrading the control plane"), then istiod before the ambient
 * data plane ("The CNI node agent and ztunnel components are compatible with a control plane at the same version,
 * or one version higher ... should upgrade the istiod chart before either"), gateway last. In sidecar mode istio-cni
 * may go before istiod: "The CNI plugin at version 1.x is compatible with control plane at version 1.x-1, 1.x, and
 * 1.x+1, which means CNI and control plane can be upgraded in any order" (setup/additional-setup/cni). istio-base
 * renders its CRDs as templates (`base.enableCRDTemplates: true`, the chart default the guard keeps), so Helm upgrades
 * them; Helm never upgrades a chart's `crds/` directory. Before base, `istio-version-guard` refuses a skipped minor.
 */
import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes";
import { remote, types } from "@pulumi/command";
import * as YAML from "yaml";
import { versionGuardCommand } from "../helm/guard";
import { contentHash, runStaged } from "../remote/script";
import { stageScript } from "../remote/stage";
import { istioVersionGuardScript, meshCheckScript, meshLabel } from "./scripts";
import type { IstioConfig } from "./settings";
import { chartsFor, GATEWAY_API_VERSION, ISTIO_HELM_REPO, ISTIO_RELEASES, type IstioChart } from "./values";

/** The control plane where the smoke test runs. */
export interface IstioControlPlane {
    /** SSH connection to the first control plane. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** `user@host:port` of that connection (staged files live in the user's home). */
    readonly sshTarget: string;
}

/** Arguments of the `Istio` component. */
export interface IstioArgs {
    /** Resolved settings: mode, version, values per chart, meshed namespaces. */
    config: IstioConfig;
    /** Kubernetes provider for the cluster. */
    provider: kubernetes.Provider;
    /** Cilium ready on every node (its verification step). */
    ciliumReady: pulumi.Resource;
    /** Where the smoke test runs. */
    controlPlane: IstioControlPlane;
    /** Image of the smoke test's throwaway pod (already on every node). */
    probeImage: string;
}

/** Istio installed, namespaces meshed, and (unless opted out) smoke-tested. */
export class Istio extends pulumi.ComponentResource {
    /** Helm releases by chart, in install order. */
    public readonly releases: Partial<Record<IstioChart, kubernetes.helm.v3.Release>>;
    /** The last step: the smoke test, or the last release when it is off. */
    public readonly ready: pulumi.Resource;
    /** Namespaces labelled for the mesh. */
    public readonly meshNamespaces: pulumi.Output<string[]>;

    constructor(name: string, args: IstioArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:mesh:Istio", name, {}, opts);
        const { config } = args;
        const k8s = { parent: this, provider: args.provider };

        const connection = args.controlPlane.connection;
        const stage = (step: string, file: string, text: string): remote.CopyToRemote =>
            stageScript(`${name}-${step}-script`, { connection, sshTarget: args.controlPlane.sshTarget, file, text }, {
                parent: this,
                dependsOn: [args.ciliumReady],
            });

        // The running istiod's version exists only on the cluster: read it there before any release moves.
        const guard = versionGuardCommand(
            name,
            { connection, file: "istio-version-guard.sh", text: istioVersionGuardScript(config.version), stage },
            this,
        );

        const releases: Partial<Record<IstioChart, kubernetes.helm.v3.Release>> = {};
        let previous: pulumi.Resource = guard;
        for (const chart of chartsFor(config.mode, config.gateway)) {
            const release: kubernetes.helm.v3.Release = new kubernetes.helm.v3.Release(
                `${name}-${chart}`,
                {
                    name: ISTIO_RELEASES[chart].name,
                    namespace: ISTIO_RELEASES[chart].namespace,
                    createNamespace: chart === "base" || chart === "gateway",
                    chart,
                    version: config.version,
                    repositoryOpts: { repo: ISTIO_HELM_REPO },
                    values: config.values[chart],
                    skipAwait: false,
                    timeout: 600,
                    maxHistory: 10,
                    // As for Cilium: a failed first install stays for inspection and the next run upgrades it.
                    atomic: false,
                },
                { ...k8s, dependsOn: [previous] },
            );
            releases[chart] = release;
            previous = release;
            if (chart === "base" && config.mode === "ambient") {
                // Ambient's istiod watches Gateway API resources; install the standard channel it builds against.
                previous = new kubernetes.yaml.v2.ConfigFile(
                    `${name}-gateway-api-crds`,
                    { file: `https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/standard-install.yaml` },
                    { ...k8s, dependsOn: [release] },
                );
            }
        }
        this.releases = releases;

        // Meshed namespaces get the mode's label through a server-side-apply patch: it creates a missing namespace,
        // works on one that exists (a plain Namespace fails with AlreadyExists since pulumi-kubernetes 4.29.0), and
        // when the namespace leaves the list only the label goes, never the namespace and its workloads.
        const label = meshLabel(config.mode);
        const namespaces = config.meshNamespaces.map(
            (ns) =>
                new kubernetes.core.v1.NamespacePatch(
                    `${name}-namespace-${ns}`,
                    { metadata: { name: ns, labels: { [label.key]: label.value } } },
                    { ...k8s, dependsOn: [previous] },
                ),
        );
        this.meshNamespaces = pulumi.output(namespaces.map((n) => n.metadata.name));

        if (config.meshCheck) {
            const checkText = meshCheckScript({ mode: config.mode, waitDuration: "5m", probeImage: args.probeImage });
            const checkFile = stage("mesh-check", "mesh-check.sh", checkText);
            this.ready = new remote.Command(
                `${name}-mesh-check`,
                {
                    connection,
                    create: runStaged("mesh-check.sh"),
                    // Re-run whenever what it proves could change: the script, the version, or any chart's values.
                    triggers: [contentHash(checkText), config.version, contentHash(YAML.stringify(config.values, { sortMapEntries: true }))],
                },
                { parent: this, dependsOn: [previous, checkFile, ...namespaces] },
            );
        } else {
            this.ready = previous;
        }
        this.registerOutputs({ meshNamespaces: this.meshNamespaces });
    }
}
