/**
 * Kubernetes version rules. kubeadm installs exactly one patch version; the program renders kubeadm's `v1beta4`
 * config API, which kubeadm reads from 1.31 on (kubeadm v1beta4 was introduced in Kubernetes 1.31), so older minors
 * are refused. The tested matrix is the minor that both Cilium 1.18 (e2e-tested on Kubernetes 1.30–1.33,
 * Documentation/network/kubernetes/compatibility.rst) and Istio 1.31 (supported on 1.32–1.36) cover: 1.33.
 */

/** Oldest minor whose kubeadm reads the `kubeadm.k8s.io/v1beta4` config this program renders. */
export const MIN_KUBERNETES_MINOR = 31;
/** Minors this project's component versions are tested on together. */
export const TESTED_KUBERNETES_MINORS: readonly number[] = [33];

/** Outcome of checking a `kubernetesVersion` value. */
export interface VersionCheck {
    /** Normalised `major.minor.patch` when the string is usable. */
    readonly version?: string;
    /** Minor number when the string is usable. */
    readonly minor?: number;
    /** Set when the version cannot be used. */
    readonly error?: string;
    /** Set when the version works but lies outside the tested matrix. */
    readonly warning?: string;
}

/** Parses and checks `kubernetesVersion` (`1.33.10` or `v1.33.10`). */
export function checkKubernetesVersion(text: string): VersionCheck {
    const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
    if (!match) {
        return {
            error:
                `kubernetesVersion: "${text}" is not an exact Kubernetes release — use major.minor.patch, e.g. 1.33.10 ` +
                "(pre-releases and bare minors are not installable from the per-minor apt repository)",
        };
    }
    const [major, minor, patch] = match.slice(1).map(Number);
    const version = `${major}.${minor}.${patch}`;
    if (major !== 1 || minor < MIN_KUBERNETES_MINOR) {
        return {
            error:
                `kubernetesVersion: ${version} is not supported — kubeadm reads the v1beta4 config this program renders ` +
                `from 1.${MIN_KUBERNETES_MINOR} on; use 1.${TESTED_KUBERNETES_MINORS[0]}.x`,
        };
    }
    if (!TESTED_KUBERNETES_MINORS.includes(minor)) {
        return {
            version,
            minor,
            warning:
                `kubernetesVersion: ${version} is outside the tested matrix (1.${TESTED_KUBERNETES_MINORS.join(", 1.")}: ` +
                "Cilium 1.18 e2e-tests up to 1.33, Istio 1.31 supports 1.32–1.36) — it may work, but nobody tested it",
        };
    }
    return { version, minor };
}
