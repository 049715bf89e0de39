/**
 * Executes a stack's plan (plan-steps.ts) on simulated hosts, step by step in wave order, the way the engine would
 * run it: one simulated host per node sharing one simulated cluster; uploads written to the SSH user's $HOME;
 * commands run with their real `create` line and stdin; a command's placeholder output replaced by what the step
 * printed. What runs inside the cluster (Helm releases, the namespace patch) is simulated with the harness's
 * `installCilium`/`installIstio`, and the controllers a real cluster runs (DaemonSets reaching new nodes, the CNI
 * agents writing each node's conflist) are reconciled after every step.
 *
 * The step list is the program's own, so a script another change adds runs here without being listed anywhere; a
 * resource type the executor cannot simulate fails loudly (`unsupported step`).
 */
import { readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { valueAt } from "../../components/helm/values";
import type { ValueTree } from "../../components/helm/values";
import {
    CILIUM_CONFIG,
    diffSnapshots,
    installCilium,
    installIstio,
    SimCluster,
    SimHost,
    writeCniConfig,
    type Call,
    type SimHostOptions,
    type Snapshot,
} from "./harness";
import { PLACEHOLDER, type PlanStep, type PlanSteps } from "./plan-steps";

/** What one step did. */
export interface StepRun {
    readonly step: PlanStep;
    /** Exit status (0 for steps that run no command). */
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
    /** Stub calls the step made on its host. */
    readonly calls: readonly Call[];
    /** Wall time of the step, in milliseconds. */
    readonly ms: number;
}

/** Snapshot entries whose content differs between any two clusters (fresh CA keys), compared by presence only. */
export const CLUSTER_RANDOM_CONTENT: readonly RegExp[] = [
    /\|\/etc:\/kubernetes\/pki\//,
    /\|\/etc:\/kubernetes\/[^/]+\.conf$/,
    /\|(db|cluster):.*\/ca\.crt$/,
    /\|home:\/\.homelab\/kubeadm-join\.yaml$/, // carries the cluster's CA hash
];

/**
 * Steps (by kind, see `stepKind`) whose re-run makes mutating calls by design, and why. Each must leave the hosts and
 * the cluster byte-identical (the benchmark and the reliability report check it); every other step's re-run must make
 * no mutating call at all.
 */
export const TRANSIENT_RERUN_MUTATIONS: Readonly<Record<string, string>> = {
    "istio-mesh-check":
        "a smoke test: every run creates a throwaway meshed namespace with a probe pod and deletes it again",
    "etcd-snapshot-on-demand":
        "the on-demand etcd snapshot: every run (pulumi up --replace of it) saves a new snapshot, its only product (RERUN_PRODUCTS)",
};

/**
 * Files a transient step adds on every run because they are what it is for (not drift): left out of the
 * byte-identical comparison of a re-run, and nothing else is.
 */
export const RERUN_PRODUCTS: readonly RegExp[] = [/\/homelab\/etcd-snapshots\/etcd-[^/]*-on-demand\.db$/];

/**
 * Resource types that change nothing the simulated hosts or cluster model: random values (their results are part of
 * the steps' inputs), the Kubernetes provider, and CRD manifests (the Gateway API CRDs of ambient mode: no stub
 * reads CRDs).
 */
const NO_OP_TYPES = new Set([
    "random:index/randomString:RandomString",
    "random:index/randomPassword:RandomPassword",
    "pulumi:providers:kubernetes",
    "kubernetes:yaml/v2:ConfigFile",
]);

/** The steps that change what the simulated cluster's controllers act on. */
function clusterSignature(clusterDir: string, installed: ReadonlySet<string>): string {
    let nodes: string[] = [];
    try {
        nodes = readdirSync(path.join(clusterDir, "nodes")).sort();
    } catch {
        nodes = [];
    }
    return `${nodes.join(",")}|${[...installed].sort().join(",")}`;
}

/** cilium-config as the chart renders it from the release's values (the keys the program and cilium-check care about). */
export function ciliumConfigFromValues(values: ValueTree): Record<string, string | undefined> {
    const text = (v: unknown): string | undefined =>
        v === undefined ? undefined : typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
    return {
        ...CILIUM_CONFIG,
        "cluster-name": text(valueAt(values, "cluster.name")),
        "cluster-pool-ipv4-cidr": text((valueAt(values, "ipam.operator.clusterPoolIPv4PodCIDRList") as unknown[] | undefined)?.[0]),
        "kube-proxy-replacement": text(valueAt(values, "kubeProxyReplacement")),
        "k8s-service-host": text(valueAt(values, "k8sServiceHost")),
        "k8s-service-port": text(valueAt(values, "k8sServicePort")),
        "cni-exclusive": text(valueAt(values, "cni.exclusive") ?? true),
        "bpf-lb-sock-hostns-only": text(valueAt(values, "socketLB.hostNamespaceOnly") ?? false),
        "enable-bpf-masquerade": text(valueAt(values, "bpf.masquerade")),
    };
}

/** One execution of a plan on fresh simulated hosts. */
export class PlanRun {
    /** Step name → stdout of its last run. */
    private readonly outputs = new Map<string, string>();
    /** What is installed in the cluster: `cilium`, `istio`. */
    private readonly installed = new Set<string>();
    private ciliumConfig: Record<string, string | undefined> = {};
    private reconciled = "";

    private constructor(
        public readonly plan: PlanSteps,
        public readonly hosts: ReadonlyMap<string, SimHost>,
        private readonly cluster: SimCluster,
    ) {}

    /** Builds one fresh host per node (hostname = node name) in one cluster. */
    static async start(plan: PlanSteps, hostOptions: (node: string) => SimHostOptions = () => ({})): Promise<PlanRun> {
        if (plan.errors.length > 0) throw new Error(`the plan has errors:\n${plan.errors.join("\n")}`);
        const cluster = new SimCluster();
        const hosts = new Map<string, SimHost>();
        try {
            for (const node of plan.nodes) {
                hosts.set(node.name, await SimHost.start({ hostname: node.name, ...hostOptions(node.name), cluster }));
            }
        } catch (error) {
            await Promise.all([...hosts.values()].map((h) => h.stop()));
            cluster.dispose();
            throw error;
        }
        return new PlanRun(plan, hosts, cluster);
    }

    /** Runs `fn` on a fresh run of `plan` and stops it whatever happens. */
    static async with<T>(plan: PlanSteps, fn: (run: PlanRun) => Promise<T>, hostOptions?: (node: string) => SimHostOptions): Promise<T> {
        const run = await PlanRun.start(plan, hostOptions);
        try {
            return await fn(run);
        } finally {
            await run.stop();
        }
    }

    /** The host a step runs on. */
    hostOf(step: PlanStep): SimHost {
        const host = step.node === undefined ? undefined : this.hosts.get(step.node);
        if (!host) throw new Error(`step ${step.name} has no node to run on`);
        return host;
    }

    /** The first control plane's host (where cluster-level simulation happens). */
    get controlPlane(): SimHost {
        const cp = this.plan.nodes.find((n) => n.role === "control-plane");
        const host = cp ? this.hosts.get(cp.name) : undefined;
        if (!host) throw new Error("the plan has no control plane");
        return host;
    }

    /** Replaces placeholders of earlier steps' outputs (plan-steps.ts) with what they printed. */
    resolve(text: string): string {
        return text.replace(PLACEHOLDER, (_m, name: string, key: string | undefined) => {
            const out = this.outputs.get(name);
            if (out === undefined) throw new Error(`a step needs the output of ${name}, which has not run`);
            if (key === undefined) return out.trim();
            return new RegExp(`^${key}=(.*)$`, "m").exec(out)?.[1]?.trim() ?? "";
        });
    }

    /** Runs one step (its `create`, or `delete` with `destroy`) and reconciles the cluster's controllers. */
    async execute(step: PlanStep, options: { destroy?: boolean } = {}): Promise<StepRun> {
        const started = performance.now();
        const done = (status: number, stdout = "", stderr = "", calls: readonly Call[] = []): StepRun => ({
            step,
            status,
            stdout,
            stderr,
            calls,
            ms: performance.now() - started,
        });
        const inputs = step.inputs;
        if (options.destroy) {
            if (typeof inputs.delete !== "string") return done(0);
            const host = this.hostOf(step);
            await host.clearCalls();
            const result = await host.run(inputs.delete);
            return done(result.status, result.stdout, result.stderr, await host.calls());
        }
        let run: StepRun;
        switch (step.type) {
            case "command:remote:Command": {
                if (typeof inputs.create !== "string") {
                    // Only a delete (a node's leave step): nothing runs until the resource is deleted.
                    run = done(0);
                    break;
                }
                const host = this.hostOf(step);
                const stdin = typeof inputs.stdin === "string" ? this.resolve(inputs.stdin) : undefined;
                await host.clearCalls();
                const result = await host.run(String(inputs.create), stdin === undefined ? {} : { stdin });
                if (result.status === 0) this.outputs.set(step.name, result.stdout);
                run = done(result.status, result.stdout, result.stderr, await host.calls());
                break;
            }
            case "command:remote:CopyToRemote": {
                const source = inputs.source as { text?: string } | undefined;
                if (source?.text === undefined) throw new Error(`unsupported step ${step.name}: only string assets are uploaded`);
                writeFileSync(path.join(this.hostOf(step).home, String(inputs.remotePath)), source.text, { mode: 0o644 });
                run = done(0);
                break;
            }
            case "kubernetes:helm.sh/v3:Release": {
                if (step.name.startsWith("cilium")) {
                    this.ciliumConfig = ciliumConfigFromValues((inputs.values ?? {}) as ValueTree);
                    this.installed.add("cilium");
                } else if (step.name.startsWith("istio")) {
                    this.installed.add("istio");
                } else {
                    throw new Error(`unsupported step ${step.name}: a Helm release the executor does not know`);
                }
                this.reconciled = "";
                run = done(0);
                break;
            }
            case "kubernetes:core/v1:NamespacePatch": {
                const metadata = inputs.metadata as { name: string; labels?: Record<string, string> };
                const file = `namespaces/${metadata.name}`;
                const labels = new Map(
                    ((await this.controlPlane.readCluster(file)) ?? "")
                        .split("\n")
                        .filter((l) => l.includes("="))
                        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
                );
                labels.set("kubernetes.io/metadata.name", metadata.name);
                for (const [k, v] of Object.entries(metadata.labels ?? {})) labels.set(k, v);
                const content = [...labels.entries()].map(([k, v]) => `${k}=${v}`).sort().join("\n");
                await this.controlPlane.writeCluster(file, `${content}\n`);
                run = done(0);
                break;
            }
            default:
                if (!NO_OP_TYPES.has(step.type)) {
                    throw new Error(`unsupported step ${step.name} (${step.type}): teach tests/host/plan-run.ts to simulate it`);
                }
                run = done(0);
        }
        await this.reconcile();
        return run;
    }

    /**
     * The cluster's controllers: Cilium's DaemonSets reach every registered node and its agent writes the node's
     * conflist; istio-cni's installer chains its plugin into it. Runs only when nodes or releases changed.
     */
    private async reconcile(): Promise<void> {
        const signature = clusterSignature(this.cluster.dir, this.installed);
        if (signature === this.reconciled) return;
        this.reconciled = signature;
        if (!this.installed.has("cilium")) return;
        const mode = this.plan.istioMode === "off" ? false : this.plan.istioMode;
        await installCilium(this.controlPlane, { config: this.ciliumConfig });
        if (this.installed.has("istio") && mode) await installIstio(this.controlPlane, { mode });
        const registered = new Set(signature.split("|")[0].split(","));
        for (const [node, host] of this.hosts) {
            if (registered.has(node)) await writeCniConfig(host, { cilium: this.installed.has("istio") ? mode : false });
        }
    }

    /** Runs steps in order; stops at the first failure unless `keepGoing`. */
    async runSteps(steps: readonly PlanStep[], options: { keepGoing?: boolean; destroy?: boolean } = {}): Promise<StepRun[]> {
        const runs: StepRun[] = [];
        for (const step of steps) {
            const run = await this.execute(step, options);
            runs.push(run);
            if (run.status !== 0 && !options.keepGoing) {
                throw new Error(`${step.name} exited ${run.status}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
            }
        }
        return runs;
    }

    /** The whole plan, in order (throws at the first failing step). */
    runAll(): Promise<StepRun[]> {
        return this.runSteps(this.plan.steps);
    }

    /** Every host's snapshot, keyed `NODE|PATH`; the shared cluster once, as `cluster|PATH`. */
    async snapshot(): Promise<Snapshot> {
        const merged = new Map<string, string>();
        for (const [node, host] of this.hosts) {
            for (const [p, v] of await host.snapshot()) {
                if (p.startsWith("cluster:")) merged.set(`cluster|${p}`, v);
                else merged.set(`${node}|${p}`, v);
            }
        }
        return merged;
    }

    /** Differences from another run's snapshot, ignoring content that differs between any two clusters. */
    static diff(a: Snapshot, b: Snapshot, ignore: readonly RegExp[] = []): string[] {
        return diffSnapshots(a, b, { presenceOnly: CLUSTER_RANDOM_CONTENT, ignore });
    }

    /** Stops every host and disposes of the cluster. */
    async stop(): Promise<void> {
        await Promise.all([...this.hosts.values()].map((h) => h.stop()));
        this.cluster.dispose();
    }
}

/** Steps that run a command on a host (what the simulated-host cost and the fault matrix measure). */
export function commandSteps(plan: PlanSteps): PlanStep[] {
    return plan.steps.filter((s) => s.type === "command:remote:Command");
}
