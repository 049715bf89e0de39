/**
 * mesh-check, run for real on a simulated control plane after the Istio releases, the way the program runs it
 * (`.homelab/mesh-check.sh` through `runStaged`): istio-cni-node rolled out, the node's first conflist ending with
 * istio-cni, and a throwaway pod in a meshed namespace injected for istio-cni (sidecar) or captured by ztunnel
 * (ambient). Every run, passing or failing, must leave the cluster as it found it.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { MESH_CHECK_NAMESPACE } from "../../components/istio/scripts";
import {
    CILIUM_CONFLIST,
    diffSnapshots,
    expectSuccess,
    hostTest,
    initialisedControlPlaneOptions,
    installCilium,
    installIstio,
    OTHER_CONFLIST,
    PROBE_IMAGE,
    stageMeshCheck,
    withHost,
    writeCniConfig,
    type CniConfigOptions,
    type IstioInstallOptions,
    type RunResult,
    type SimHost,
} from "./harness";

type Mode = "sidecar" | "ambient";
const NS = MESH_CHECK_NAMESPACE;
const KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf";

/** One run's setting: the Istio releases and the node's /etc/cni/net.d (default: the mode's, all well). */
interface MeshCase {
    readonly istio?: Omit<IstioInstallOptions, "mode">;
    readonly cni?: CniConfigOptions;
    /** Runs after the setting is in place and before the "before" snapshot. */
    readonly prepare?: (host: SimHost) => Promise<void>;
}

/** The calls of a run that gets as far as the probe pod, in order, ending with the EXIT trap's cleanup. */
function probeCalls(mode: Mode, reachesWait = true): string[] {
    return [
        "kubectl -n istio-system rollout status daemonset/istio-cni-node --timeout=5m",
        `kubectl delete namespace ${NS} --ignore-not-found --timeout=5m`,
        `kubectl create namespace ${NS}`,
        mode === "sidecar" ? `kubectl label namespace ${NS} istio-injection=enabled` : `kubectl label namespace ${NS} istio.io/dataplane-mode=ambient`,
        `kubectl -n ${NS} run mesh-probe --image=${PROBE_IMAGE} --restart=Never`,
        ...(mode === "sidecar"
            ? [
                  `kubectl -n ${NS} get pod mesh-probe -o jsonpath={.spec.initContainers[*].name}`,
                  ...(reachesWait ? [`kubectl -n ${NS} wait --for=condition=Ready pod/mesh-probe --timeout=5m`] : []),
              ]
            : [
                  `kubectl -n ${NS} wait --for=condition=Ready pod/mesh-probe --timeout=5m`,
                  `kubectl -n ${NS} get pod mesh-probe -o jsonpath={.metadata.annotations.ambient\\.istio\\.io/redirection}`,
              ]),
        `kubectl delete namespace ${NS} --ignore-not-found --wait=false`,
    ];
}

/**
 * A control plane (nodes cp1 and w1) with Cilium, on which `fn` runs cases one after another: each `runMeshCheck`
 * replaces the previous case's Istio and CNI configuration.
 */
async function withMeshHost(fn: (host: SimHost) => Promise<void>): Promise<void> {
    await withHost(initialisedControlPlaneOptions({ nodes: { w1: "0123456789abcdef0123456789abcdef" } }), async (host) => {
        await installCilium(host);
        await fn(host);
    });
}

/** The namespace as kubectl sees it: `namespace/NAME`, or nothing when it does not exist. */
async function namespaceOnCluster(host: SimHost, name = NS): Promise<string> {
    return (await host.check(`${KUBECTL} get namespace ${name} --ignore-not-found -o name`)).trim();
}

/**
 * Puts the case in place, stages mesh-check.sh for the mode and runs it as the program does. Asserts that afterwards
 * the check's namespace is gone and the host (cluster included) is exactly as before the run.
 */
async function runMeshCheck(host: SimHost, mode: Mode, c: MeshCase = {}): Promise<{ result: RunResult; calls: string[] }> {
    await installIstio(host, { mode, ...c.istio });
    await writeCniConfig(host, c.cni ?? { cilium: mode });
    stageMeshCheck(host, mode);
    await c.prepare?.(host);
    const before = await host.snapshot();
    await host.clearCalls();
    const result = await host.runStaged("mesh-check.sh");
    const calls = (await host.calls()).map((call) => call.line);
    assert.equal(await namespaceOnCluster(host), "", `${NS} is left behind:\n${result.stderr}`);
    assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], "the run leaves the host and the cluster as it found them");
    return { result, calls };
}

/** Asserts the run failed with the script's reason (its `die` line). */
function assertFailed(result: RunResult, reason: string): void {
    assert.equal(result.status, 1, `mesh-check should have failed:\n${result.stderr}`);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("[homelab mesh-check] ERROR: "));
    assert.deepEqual(errors, [`[homelab mesh-check] ERROR: ${reason}`]);
}

const NOT_CHAINED = `not istio-cni: istio-cni is not chained after Cilium (is cilium-config cni-exclusive "false"?)`;

describe("mesh-check", { concurrency: 2 }, () => {
    hostTest("sidecar: passes when injection uses istio-cni, and fails with the reason otherwise", async (t) => {
        await withMeshHost(async (host) => {
            await t.test("passes: istio-validation and no istio-init, istio-cni last in Cilium's conflist", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar");
                expectSuccess(result, "mesh-check (sidecar)");
                assert.deepEqual(calls, probeCalls("sidecar"));
                assert.match(result.stderr, /daemon set "istio-cni-node" successfully rolled out/);
                assert.match(result.stderr, /\[homelab mesh-check\] \/etc\/cni\/net\.d\/05-cilium\.conflist chains istio-cni after Cilium$/m);
                assert.match(result.stderr, /\[homelab mesh-check\] sidecar injection uses istio-cni: istio-validation passed, no istio-init$/m);
                assert.equal(result.stdout, "");
            });

            await t.test("istio-cni-node not rolled out on every node", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { istio: { cniReadyOnAllNodes: false } });
                assertFailed(result, "istio-cni-node is not ready on every node within 5m: kubectl -n istio-system logs ds/istio-cni-node");
                assert.match(result.stderr, /Waiting for daemon set "istio-cni-node" rollout to finish: 1 of 2 updated pods are available/);
                assert.deepEqual(calls, probeCalls("sidecar").slice(0, 1), "nothing else is tried");
            });

            await t.test("istio-cni-node absent (the istio-cni release is not installed)", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", {
                    prepare: (h) => h.check(`rm "$SIM_CLUSTER/objects/istio-system/daemonset/istio-cni-node"`).then(() => undefined),
                });
                assertFailed(result, "istio-cni-node is not ready on every node within 5m: kubectl -n istio-system logs ds/istio-cni-node");
                assert.match(result.stderr, /daemonsets\.apps "istio-cni-node" not found/);
                assert.equal(calls.length, 1);
            });

            await t.test("no conflist in /etc/cni/net.d", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { cni: { cilium: "absent" } });
                assertFailed(result, "no CNI configuration in /etc/cni/net.d: Cilium has not written its configuration");
                assert.equal(calls.length, 1, "only the rollout status: no namespace is created");
            });

            await t.test("no /etc/cni/net.d at all", async () => {
                const { result } = await runMeshCheck(host, "sidecar", {
                    prepare: (h) => h.check("rm -rf /etc/cni").then(() => undefined),
                });
                assertFailed(result, "no CNI configuration in /etc/cni/net.d: Cilium has not written its configuration");
            });

            await t.test("Cilium's conflist without istio-cni (cilium-cni last)", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { cni: { cilium: false } });
                assertFailed(result, `the last plugin in ${CILIUM_CONFLIST} is 'cilium-cni', ${NOT_CHAINED}`);
                assert.equal(calls.length, 1);
            });

            await t.test("a stray single-plugin .conf that sorts first is the active config (containerd reads .conf too)", async () => {
                const bridge = '{"cniVersion": "0.4.0", "name": "old", "type": "bridge", "bridge": "cni0"}\n';
                const { result } = await runMeshCheck(host, "sidecar", { cni: { cilium: "sidecar", others: { "00-old.conf": bridge } } });
                assertFailed(result, `the last plugin in /etc/cni/net.d/00-old.conf is 'bridge', ${NOT_CHAINED}`);
            });

            await t.test("a stray conflist that sorts before Cilium's is the active one", async () => {
                const { result } = await runMeshCheck(host, "sidecar", { cni: { cilium: "sidecar", others: { "00-other.conflist": OTHER_CONFLIST } } });
                assertFailed(result, `the last plugin in /etc/cni/net.d/00-other.conflist is 'portmap', ${NOT_CHAINED}`);
            });

            await t.test("a file that sorts after Cilium's conflist, or is not a conflist, does not count", async () => {
                const { result } = await runMeshCheck(host, "sidecar", {
                    cni: { cilium: "sidecar", others: { "10-other.conflist": OTHER_CONFLIST, "01-notes.txt": "not a CNI config\n" } },
                });
                expectSuccess(result, "mesh-check with later and non-conflist files");
                assert.match(result.stderr, /05-cilium\.conflist chains istio-cni after Cilium/);
            });

            await t.test("an empty conflist (no plugin at all) fails with the reason", async () => {
                const { result } = await runMeshCheck(host, "sidecar", { cni: { cilium: "absent", others: { "05-cilium.conflist": "" } } });
                assertFailed(result, `the last plugin in ${CILIUM_CONFLIST} is 'none', ${NOT_CHAINED}`);
            });

            await t.test("the probe pod got istio-init", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { istio: { injects: "istio-init" } });
                assertFailed(
                    result,
                    "the probe pod got istio-init: sidecars are not using istio-cni (istiod pilot.cni.enabled is not in effect)",
                );
                assert.deepEqual(calls, probeCalls("sidecar", false), "the namespace is still cleaned up");
            });

            await t.test("the probe pod has no init containers", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { istio: { injects: "none" } });
                assertFailed(
                    result,
                    "the probe pod has no istio-validation init container (init containers: none): the injector did not inject it for istio-cni",
                );
                assert.deepEqual(calls, probeCalls("sidecar", false));
            });

            await t.test("the probe pod never becomes Ready (istio-validation found no redirection)", async () => {
                const { result, calls } = await runMeshCheck(host, "sidecar", { istio: { podReady: false } });
                assertFailed(
                    result,
                    "the probe pod did not become Ready within 5m: istio-validation found no CNI redirection, or the sidecar could not start",
                );
                assert.deepEqual(calls, probeCalls("sidecar"), "the namespace is still cleaned up");
            });

            await t.test("a leftover namespace from an interrupted run is deleted first, then the check passes", async () => {
                await installIstio(host, { mode: "sidecar" });
                await writeCniConfig(host, { cilium: "sidecar" });
                stageMeshCheck(host, "sidecar");
                const clean = await host.snapshot();
                // The run is killed (SIGKILL: no EXIT trap) once the probe pod exists, as it reads the pod back.
                await host.hook("kubectl-get", "kill -KILL 0\n");
                const killed = await host.runStaged("mesh-check.sh");
                await host.check(`rm "$SIM_STATE/hooks/kubectl-get"`);
                assert.notEqual(killed.status, 0);
                assert.equal(await namespaceOnCluster(host), `namespace/${NS}`, "the interrupted run left its namespace");
                assert.equal(
                    await host.check(`${KUBECTL} -n ${NS} get pod mesh-probe -o 'jsonpath={.spec.initContainers[*].name}'`),
                    "istio-validation istio-proxy",
                );

                await host.clearCalls();
                const result = expectSuccess(await host.runStaged("mesh-check.sh"), "mesh-check after an interrupted run");
                assert.match(result.stderr, /sidecar injection uses istio-cni/);
                assert.deepEqual((await host.calls()).map((call) => call.line), probeCalls("sidecar"));
                assert.equal(await namespaceOnCluster(host), "");
                assert.deepEqual(diffSnapshots(clean, await host.snapshot()), [], "no trace of either run is left");
            });
        });
    });

    hostTest("ambient: passes when the probe pod is Ready and captured, and fails with the reason otherwise", async (t) => {
        await withMeshHost(async (host) => {
            await t.test("passes: the pod is Ready and redirected through ztunnel", async () => {
                const { result, calls } = await runMeshCheck(host, "ambient");
                expectSuccess(result, "mesh-check (ambient)");
                assert.deepEqual(calls, probeCalls("ambient"));
                assert.match(result.stderr, /pod\/mesh-probe condition met/);
                assert.match(result.stderr, /\[homelab mesh-check\] ambient capture works: the probe pod is redirected through ztunnel$/m);
                assert.equal(result.stdout, "");
            });

            await t.test("the probe pod never becomes Ready", async () => {
                const { result, calls } = await runMeshCheck(host, "ambient", { istio: { podReady: false } });
                assertFailed(result, "the probe pod did not become Ready within 5m");
                assert.match(result.stderr, /error: timed out waiting for the condition on pods\/mesh-probe/);
                const expected = probeCalls("ambient");
                assert.deepEqual(calls, [...expected.slice(0, -2), expected[expected.length - 1]], "no annotation read, but the cleanup");
            });

            await t.test("the probe pod is not captured", async () => {
                const { result, calls } = await runMeshCheck(host, "ambient", { istio: { captures: false } });
                assertFailed(
                    result,
                    "the probe pod is not captured by ambient (annotation ambient.istio.io/redirection is 'absent'): check istio-cni and ztunnel logs",
                );
                assert.deepEqual(calls, probeCalls("ambient"));
            });

            await t.test("istio-cni-node not rolled out on every node", async () => {
                const { result } = await runMeshCheck(host, "ambient", { istio: { cniReadyOnAllNodes: false } });
                assertFailed(result, "istio-cni-node is not ready on every node within 5m: kubectl -n istio-system logs ds/istio-cni-node");
            });
        });
    });
});

describe("the kubectl stub behind mesh-check", () => {
    hostTest("namespaces, labels, pods, waits and rollouts behave as kubectl's do", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            await installIstio(host, { mode: "ambient", podReady: false });
            const k = (args: string): Promise<RunResult> => host.run(`${KUBECTL} ${args}`);
            const out = async (args: string): Promise<string> => expectSuccess(await k(args), args).stdout;
            const err = async (args: string): Promise<string> => {
                const r = await k(args);
                assert.equal(r.status, 1, `${args} should fail:\n${r.stdout}${r.stderr}`);
                return r.stderr;
            };

            assert.equal(await out("create namespace demo"), "namespace/demo created\n");
            assert.match(await err("create namespace demo"), /\(AlreadyExists\): namespaces "demo" already exists/);
            assert.match(await err("create namespace Demo_1"), /a lowercase RFC 1123 label/);
            assert.equal(await out("label namespace demo team=a"), "namespace/demo labeled\n");
            assert.equal(await out("label namespace demo team=a"), "namespace/demo not labeled\n");
            assert.match(await err("label namespace demo team=b"), /'team' already has a value \(a\), and --overwrite is false/);
            assert.equal(await out("label namespace demo team=b --overwrite"), "namespace/demo labeled\n");
            assert.match(await err("label namespace demo bad=a=b"), /invalid label spec: bad=a=b/);
            assert.equal(await out("label namespace demo team-"), "namespace/demo unlabeled\n");
            assert.match(await err("label namespace nowhere team=a"), /namespaces "nowhere" not found/);
            assert.equal(await host.readCluster("namespaces/demo"), "kubernetes.io/metadata.name=demo\n");

            assert.match(await err("-n nowhere run p --image=x"), /namespaces "nowhere" not found/);
            assert.equal(await out("-n demo run p --image=x --restart=Never"), "pod/p created\n");
            assert.match(await err("-n demo run p --image=x"), /pods "p" already exists/);
            assert.equal(await out("-n demo get pod p -o 'jsonpath={.spec.initContainers[*].name}'"), "", "an unmeshed pod");
            assert.equal(await out("-n demo wait --for=condition=Ready pod/p --timeout=1m"), "pod/p condition met\n");
            assert.equal(await out("label namespace demo istio.io/dataplane-mode=ambient"), "namespace/demo labeled\n");
            await out("-n demo run q --image=x");
            assert.equal(await out("-n demo get pod q -o 'jsonpath={.metadata.annotations.ambient\\.istio\\.io/redirection}'"), "enabled");
            assert.equal(
                await out("-n demo get pod q -o 'jsonpath={.metadata.annotations.ambient.istio.io/redirection}'"),
                "",
                "unescaped dots name nested fields, which a string annotation does not have",
            );
            assert.match(await err("-n demo wait --for=condition=Ready pod/q --timeout=1m"), /timed out waiting for the condition on pods\/q/);
            assert.match(await err("-n demo wait --for=condition=Ready pod/r --timeout=1m"), /pods "r" not found/);
            assert.match(await err("-n demo wait --for=condition=Ready pod/q --timeout=5x"), /invalid argument "5x" for "--timeout" flag/);

            assert.equal(await out("-n istio-system rollout status daemonset/istio-cni-node --timeout=1m"), 'daemon set "istio-cni-node" successfully rolled out\n');
            assert.match(await err("-n istio-system rollout status daemonset/nothing --timeout=1m"), /daemonsets\.apps "nothing" not found/);

            assert.match(await err("delete namespace kube-system"), /\(Forbidden\): namespaces "kube-system" is forbidden/);
            assert.equal(await out("delete namespace demo --wait=false"), 'namespace "demo" deleted\n');
            assert.equal(await host.readCluster("namespaces/demo"), undefined);
            assert.equal(await host.readCluster("objects/demo/pod/p"), undefined, "its pods go with it");
            assert.match(await err("delete namespace demo"), /namespaces "demo" not found/);
            assert.equal(await out("delete namespace demo --ignore-not-found --timeout=1m"), "");
            const verbs = (await host.calls()).map((call) => [call.kind, /^kubectl --kubeconfig \S+ (?:-n \S+ )?(\w+)/.exec(call.line)?.[1]]);
            for (const [kind, verb] of verbs) {
                assert.equal(kind, ["create", "label", "run", "delete"].includes(verb ?? "") ? "mut" : "ro", `kubectl ${verb}`);
            }
        });
    });
});
