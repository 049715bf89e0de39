/**
 * cilium-version-guard and istio-version-guard, run for real on a simulated control plane the way the program runs
 * them (`.homelab/<guard>.sh` through `runStaged`), against a cluster where Cilium's DaemonSet or istiod runs a given
 * image (or does not exist). Every row of the shared table must end as the pure rule says, with exactly its message,
 * through two read-only kubectl GETs and no change to the host or the cluster.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { CILIUM_VERSION_GUARD, CILIUM_VERSION_WHERE, ciliumVersionGuardScript } from "../../components/cilium";
import { versionStep } from "../../components/helm/upgrade";
import { ISTIO_VERSION_GUARD, ISTIO_VERSION_WHERE, istioVersionGuardScript } from "../../components/istio";
import { STEP_CASES, type StepCase } from "../helpers/version-steps";
import {
    diffSnapshots,
    hostTest,
    initialisedControlPlaneOptions,
    installCilium,
    installIstio,
    withHost,
    type RunResult,
    type SimHost,
} from "./harness";

const GUARDS = {
    cilium: { file: "cilium-version-guard.sh", script: ciliumVersionGuardScript, subject: CILIUM_VERSION_GUARD, where: CILIUM_VERSION_WHERE },
    istio: { file: "istio-version-guard.sh", script: istioVersionGuardScript, subject: ISTIO_VERSION_GUARD, where: ISTIO_VERSION_WHERE },
} as const;

/** Puts the running workload in place (or removes it), like a deployed (or absent) release leaves the cluster. */
async function setRunning(host: SimHost, component: "cilium" | "istio", image: string | undefined): Promise<void> {
    await host.check(
        [
            `rm -rf "$SIM_CLUSTER/objects/kube-system" "$SIM_CLUSTER/objects/istio-system" "$SIM_CLUSTER/images" "$SIM_CLUSTER/cilium"`,
            `rm -rf "$SIM_CLUSTER/istio" "$SIM_CLUSTER/namespaces/istio-system"`,
        ].join("\n"),
    );
    if (image !== undefined) {
        await (component === "cilium" ? installCilium(host, { image }) : installIstio(host, { mode: "sidecar", image }));
    }
}

/** Stages the guard for `target` and runs it; asserts it read only and changed nothing. */
async function runGuard(host: SimHost, component: "cilium" | "istio", target: string): Promise<RunResult> {
    const guard = GUARDS[component];
    host.stage({ [guard.file]: guard.script(target) });
    const before = await host.snapshot();
    await host.clearCalls();
    const result = await host.runStaged(guard.file);
    assert.deepEqual(await host.mutatingCalls(), [], "the guard is read-only");
    assert.ok((await host.calls()).every((c) => c.tool === "kubectl" && c.args.includes("get")), "nothing but kubectl get");
    assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], "the host and the cluster are unchanged");
    return result;
}

/** What the guard must print for a table row: exactly the rule's message, as a log line or as the error. */
function expectedStderr(c: StepCase): { status: number; stderr: string } {
    const guard = GUARDS[c.component];
    const step = versionStep(guard.subject, c.target, c.running, guard.where);
    const prefix = `[homelab ${guard.subject.step}] `;
    return step.verdict === "refuse" ? { status: 1, stderr: `${prefix}ERROR: ${step.message}\n` } : { status: 0, stderr: `${prefix}${step.message}\n` };
}

describe("version guards on a control plane", () => {
    hostTest("every transition of the table ends as the pure rule says, with its exact message, read-only", async (t) => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            for (const c of STEP_CASES) {
                await t.test(`${c.name}: ${c.running ?? "nothing"} → ${c.target}`, async () => {
                    await setRunning(host, c.component, c.running);
                    const result = await runGuard(host, c.component, c.target);
                    const want = expectedStderr(c);
                    assert.equal(result.stderr, want.stderr);
                    assert.equal(result.status, want.status, result.stderr);
                    assert.equal(result.stdout, "");
                    const reads = (await host.calls()).length;
                    assert.equal(reads, c.running === undefined ? 1 : 2, "one GET for a fresh cluster, two otherwise");
                });
            }
        });
    });

    hostTest("an upgrade walks one minor at a time: 1.18 → 1.20 refused, 1.19 passes, then 1.20 passes", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            await setRunning(host, "cilium", "quay.io/cilium/cilium:v1.18.4");
            const skip = await runGuard(host, "cilium", "1.20.0");
            assert.equal(skip.status, 1);
            assert.match(skip.stderr, /ciliumVersion: 1\.20\.0 would upgrade the running Cilium 1\.18\.4 by 2 minor versions/);
            assert.match(skip.stderr, /set ciliumVersion to the newest 1\.19 patch/);
            assert.equal((await runGuard(host, "cilium", "1.19.2")).status, 0);
            // What the release upgrade leaves behind: the DaemonSet now runs 1.19.2.
            await setRunning(host, "cilium", "quay.io/cilium/cilium:v1.19.2");
            const next = await runGuard(host, "cilium", "1.20.0");
            assert.equal(next.status, 0, next.stderr);
            assert.match(next.stderr, /Cilium 1\.19\.2 -> 1\.20\.0: a one-minor upgrade, allowed/);
        });
    });

    hostTest("a failed query fails closed: no API answer is never read as a fresh cluster or an allowed step", async (t) => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            for (const component of ["cilium", "istio"] as const) {
                for (const [what, pattern] of [
                    ["the existence query", "--ignore-not-found"],
                    ["the image query", "jsonpath"],
                ] as const) {
                    await t.test(`${component}: ${what}`, async () => {
                        await setRunning(host, component, component === "cilium" ? "quay.io/cilium/cilium:v1.18.0" : "docker.io/istio/pilot:1.31.1");
                        await host.clearFaults();
                        await host.injectFault("kubectl", pattern);
                        const result = await runGuard(host, component, component === "cilium" ? "1.19.0" : "1.32.0");
                        await host.clearFaults();
                        assert.equal(result.status, 1, result.stderr);
                        assert.match(result.stderr, /kubectl: operation failed \(simulated failure: fail\/kubectl\)/);
                        assert.match(result.stderr, /refusing to upgrade without knowing the running version/);
                        assert.doesNotMatch(result.stderr, /allowed|installing/);
                    });
                }
            }
        });
    });

    hostTest("a DaemonSet without the agent container is refused as unreadable, not passed", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            await setRunning(host, "cilium", "quay.io/cilium/cilium:v1.18.0");
            await host.check(`rm -f "$SIM_CLUSTER/images/kube-system/daemonset/cilium"`);
            const result = await runGuard(host, "cilium", "1.18.0");
            assert.equal(result.status, 1);
            assert.match(result.stderr, /the image of daemonset\/cilium \(container cilium-agent\) in kube-system is '', not tagged with a version/);
        });
    });
});
