/**
 * The version-step table both guard tests use: the pure rule (tests/helm/upgrade.test.ts) and the real guard scripts
 * on a simulated control plane (tests/host/version-guard.host.test.ts) must agree on every row.
 */
import type { VersionStep } from "../../components/helm/upgrade";

/** One transition: what runs on the cluster (the workload's image, or nothing), the configured target, the verdict. */
export interface StepCase {
    readonly name: string;
    readonly component: "cilium" | "istio";
    /** Image of the running workload; undefined: the workload does not exist (fresh cluster). */
    readonly running: string | undefined;
    readonly target: string;
    readonly verdict: VersionStep["verdict"];
}

const digest = "@sha256:dfea023972d06ec183cfa3c9e7809716f85daaff042e573ef366e9ec6a0c0ab2";
const cilium = (tag: string): string => `quay.io/cilium/cilium:${tag}${digest}`;
const pilot = (tag: string): string => `docker.io/istio/pilot:${tag}`;

export const STEP_CASES: readonly StepCase[] = [
    { name: "fresh cluster, first install", component: "cilium", running: undefined, target: "1.18.0", verdict: "install" },
    { name: "re-run at the running version", component: "cilium", running: cilium("v1.18.0"), target: "1.18.0", verdict: "same" },
    { name: "patch upgrade", component: "cilium", running: cilium("v1.18.0"), target: "1.18.4", verdict: "patch" },
    { name: "patch downgrade", component: "cilium", running: cilium("v1.18.4"), target: "1.18.1", verdict: "patch" },
    { name: "one minor up", component: "cilium", running: cilium("v1.18.4"), target: "1.19.1", verdict: "upgrade" },
    { name: "one minor up from a registry with a port", component: "cilium", running: "registry.lab:5000/cilium/cilium:v1.17.6", target: "1.18.0", verdict: "upgrade" },
    { name: "two minors up", component: "cilium", running: cilium("v1.18.4"), target: "1.20.0", verdict: "refuse" },
    { name: "three minors up", component: "cilium", running: cilium("v1.16.9"), target: "1.19.0", verdict: "refuse" },
    { name: "one minor back (rollback)", component: "cilium", running: cilium("v1.19.1"), target: "1.18.4", verdict: "rollback" },
    { name: "two minors back", component: "cilium", running: cilium("v1.20.0"), target: "1.18.0", verdict: "refuse" },
    { name: "a major change", component: "cilium", running: cilium("v1.18.0"), target: "2.0.0", verdict: "refuse" },
    { name: "an image without a version tag", component: "cilium", running: "quay.io/cilium/cilium:latest", target: "1.18.0", verdict: "refuse" },
    { name: "an image by digest only", component: "cilium", running: `quay.io/cilium/cilium${digest}`, target: "1.18.0", verdict: "refuse" },
    { name: "istio: fresh cluster", component: "istio", running: undefined, target: "1.31.1", verdict: "install" },
    { name: "istio: re-run", component: "istio", running: pilot("1.31.1"), target: "1.31.1", verdict: "same" },
    { name: "istio: patch upgrade", component: "istio", running: pilot("1.31.1"), target: "1.31.2", verdict: "patch" },
    { name: "istio: one minor up from distroless", component: "istio", running: pilot("1.30.3-distroless"), target: "1.31.1", verdict: "upgrade" },
    { name: "istio: two minors up", component: "istio", running: pilot("1.29.2"), target: "1.31.1", verdict: "refuse" },
    { name: "istio: one minor back", component: "istio", running: pilot("1.31.1"), target: "1.30.3", verdict: "rollback" },
    { name: "istio: two minors back", component: "istio", running: pilot("1.31.1"), target: "1.29.0", verdict: "refuse" },
];
