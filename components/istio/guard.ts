/**
 * The checks `istioctl install` makes and a Helm install skips (istio/istio operator/pkg/apis/validation, PR #52902),
 * over the effective Cilium values, plus Istio's Kubernetes support window. Pure.
 */
import { truthy, valueAt, type ValueTree } from "../helm/values";

/** How Istio runs; `off` when it is not installed. */
export type IstioMode = "off" | "sidecar" | "ambient";

/**
 * Kubernetes minors each Istio minor supports (istio.io release announcements; 1.31: "officially supported on
 * Kubernetes versions 1.32 to 1.36", and istioctl's MinK8SVersion = 32 on release-1.31).
 */
export const ISTIO_KUBERNETES_SUPPORT: Readonly<Record<string, readonly [number, number]>> = {
    "1.30": [32, 36],
    "1.31": [32, 36],
};

/**
 * Problems with the effective Cilium values for istio-cni chaining; each names the `ciliumValues` key and the fix.
 * Empty when Istio is off.
 */
export function istioChainingProblems(cilium: ValueTree, mode: IstioMode): string[] {
    if (mode === "off") {
        return [];
    }
    const problems: string[] = [];
    const key = (path: string): string => `ciliumValues.${path}`;
    if (truthy(valueAt(cilium, "cni.exclusive")) !== false) {
        problems.push(
            `${key("cni.exclusive")}: must be false while istioEnabled is true — istio-cni must chain after Cilium, and with ` +
                "exclusive=true Cilium rewrites the conflist",
        );
    }
    // kubeProxyReplacement=true turns the socket load balancer on whatever socketLB.enabled says (pkg/kpr).
    const socketLb = truthy(valueAt(cilium, "kubeProxyReplacement")) === true || truthy(valueAt(cilium, "socketLB.enabled")) === true;
    if (socketLb && truthy(valueAt(cilium, "socketLB.hostNamespaceOnly")) !== true) {
        problems.push(
            `${key("socketLB.hostNamespaceOnly")}: must be true while istioEnabled is true — the socket load balancer would ` +
                "rewrite ClusterIPs before Istio's redirection sees them",
        );
    }
    if (mode === "ambient" && truthy(valueAt(cilium, "bpf.masquerade")) === true) {
        problems.push(`${key("bpf.masquerade")}: must be false with istioMode ambient — it breaks ambient's link-local health probes (169.254.7.127)`);
    }
    return problems;
}

/** A warning when the Istio/Kubernetes pair is outside Istio's support window, else undefined. */
export function istioSupportWarning(istioVersion: string, kubernetesVersion: string): string | undefined {
    const istioMinor = istioVersion.split(".").slice(0, 2).join(".");
    const kubeMinor = Number(kubernetesVersion.split(".")[1]);
    const window = ISTIO_KUBERNETES_SUPPORT[istioMinor];
    if (!window) {
        return `istioVersion: ${istioVersion} is not in this program's support table (${Object.keys(ISTIO_KUBERNETES_SUPPORT).join(", ")}) — check its Kubernetes support window yourself`;
    }
    if (kubeMinor < window[0] || kubeMinor > window[1]) {
        return (
            `istioVersion: Istio ${istioMinor} supports Kubernetes 1.${window[0]}–1.${window[1]}, and kubernetesVersion is ` +
            `${kubernetesVersion} — it may work, but it is outside Istio's support window`
        );
    }
    return undefined;
}
