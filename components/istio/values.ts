/**
 * Helm values for Istio's charts (1.31), per mode, sized for a lab, and the guard over the effective values.
 *
 * Keys are set at the top level as the charts expect (their defaults sit under `_internal_defaults_do_not_set`);
 * istiod's legacy `pilot.*` scope is folded into the top level by the chart (templates/zzy_descope_legacy.yaml), and
 * `profile` selects `files/profile-<name>.yaml`.
 */
import { deepMerge, truthy, valueAt, type ValueTree } from "../helm/values";

/** Istio's Helm repository (1.31 is not published to the retired storage.googleapis.com one). */
export const ISTIO_HELM_REPO = "https://blob.istio.io/istio-release/charts";
/** Gateway API release Istio 1.31 builds against (sigs.k8s.io/gateway-api v1.6.0), standard channel. */
export const GATEWAY_API_VERSION = "v1.6.0";
/** The taint istio-cni's node agent waits out and istiod's untaint controller removes. */
export const ISTIO_CNI_TAINT = { key: "cni.istio.io/not-ready", effect: "NoSchedule" } as const;

/** Istio's charts this program installs. */
export const ISTIO_CHARTS = ["base", "cni", "istiod", "ztunnel", "gateway"] as const;
/** One of Istio's charts. */
export type IstioChart = (typeof ISTIO_CHARTS)[number];

/** Release name and namespace of each chart (the names istio.io's Helm guides use). */
export const ISTIO_RELEASES: Readonly<Record<IstioChart, { readonly name: string; readonly namespace: string }>> = {
    base: { name: "istio-base", namespace: "istio-system" },
    cni: { name: "istio-cni", namespace: "istio-system" },
    istiod: { name: "istiod", namespace: "istio-system" },
    ztunnel: { name: "ztunnel", namespace: "istio-system" },
    gateway: { name: "istio-ingress", namespace: "istio-ingress" },
};

/** What the values depend on. */
export interface IstioValuesInput {
    /** Sidecar or ambient data plane. */
    readonly mode: "sidecar" | "ambient";
    /** Nodes start tainted `cni.istio.io/not-ready` and istiod removes the taint once istio-cni is ready there. */
    readonly cniTaint: boolean;
}

/** Lab-sized requests, as Istio's demo profile sets them (helm-profiles/demo.yaml). */
const small = (memory: string): ValueTree => ({ requests: { cpu: "10m", memory } });

/** Values for every chart, for one mode. Charts a mode does not install are still built (and unused). */
export function buildIstioValues(input: IstioValuesInput): Record<IstioChart, ValueTree> {
    const ambient = input.mode === "ambient" ? { profile: "ambient" } : {};
    return {
        base: {},
        cni: {
            ...ambient,
            // Append the istio-cni plugin to Cilium's conflist instead of writing a primary config.
            chained: true,
            // Pods that start in the gap before istio-cni is ready on their node get fixed up (the default since
            // 1.21; if pods crash-loop in istio-validation, istio#56587 suggests repairPods=false, deletePods=true).
            repair: { enabled: true, repairPods: true },
            resources: small("40Mi"),
        },
        istiod: {
            ...ambient,
            pilot: {
                // Sidecars get the unprivileged istio-validation init container instead of istio-init.
                cni: { enabled: true },
                autoscaleEnabled: false,
                resources: small("100Mi"),
                ...(input.cniTaint ? { taint: { enabled: true } } : {}),
            },
            global: { proxy: { resources: small("40Mi") } },
        },
        ztunnel: { resources: small("40Mi") },
        gateway: {
            resources: small("40Mi"),
            autoscaling: { enabled: false },
            // The chart's default is a LoadBalancer Service, and Helm's wait (skipAwait: false) holds the release until
            // such a Service has an ingress address (helm pkg/kube/ready.go serviceReady). A kubeadm lab has no load
            // balancer (Cilium's LB-IPAM stays dormant without an IP pool), so the release would time out: expose the
            // gateway on a NodePort of every node instead.
            service: { type: "NodePort" },
        },
    };
}

/** The charts a mode installs, in install order (istio.io Helm guides). */
export function chartsFor(mode: "sidecar" | "ambient", gateway: boolean): IstioChart[] {
    const order: IstioChart[] = mode === "sidecar" ? ["base", "cni", "istiod"] : ["base", "istiod", "cni", "ztunnel"];
    return gateway ? [...order, "gateway"] : order;
}

/** Merges per-chart overrides (`istioValues`) over the built values. */
export function mergeIstioValues(built: Record<IstioChart, ValueTree>, overrides: Partial<Record<IstioChart, ValueTree>>): Record<IstioChart, ValueTree> {
    return Object.fromEntries(ISTIO_CHARTS.map((chart) => [chart, deepMerge(built[chart], overrides[chart] ?? {})])) as Record<IstioChart, ValueTree>;
}

/** Refuses effective values that would undo CNI chaining; each message names the `istioValues` key. */
export function checkIstioValues(values: Record<IstioChart, ValueTree>, mode: "sidecar" | "ambient"): string[] {
    const errors: string[] = [];
    const cni = values.cni;
    if (truthy(valueAt(cni, "chained")) === false || truthy(valueAt(cni, "cni.chained")) === false) {
        errors.push("istioValues.cni.chained: must stay true — istio-cni runs chained after Cilium, not as the primary CNI");
    }
    const istiodCni = [valueAt(values.istiod, "pilot.cni.enabled"), valueAt(values.istiod, "cni.enabled")];
    if (istiodCni.some((v) => truthy(v) === false)) {
        errors.push("istioValues.istiod.pilot.cni.enabled: must stay true — without it sidecars get the privileged istio-init container");
    }
    // istio-base ships its CRDs as templates (base.enableCRDTemplates, default true) so that `helm upgrade` upgrades
    // them; with false they move to Helm's crds/ handling, which installs CRDs once and never upgrades them, and an
    // istioVersion bump would leave the old CRDs under the new istiod.
    if (truthy(valueAt(values.base, "base.enableCRDTemplates")) === false) {
        errors.push("istioValues.base.base.enableCRDTemplates: must stay true — Helm never upgrades CRDs outside templates, so an istioVersion change would keep the old Istio CRDs");
    }
    if (mode === "ambient") {
        for (const chart of ["cni", "istiod"] as const) {
            if (valueAt(values[chart], "profile") !== "ambient") {
                errors.push(`istioValues.${chart}.profile: must be ambient with istioMode ambient — remove the override`);
            }
        }
    }
    return errors;
}
