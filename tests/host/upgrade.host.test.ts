/**
 * Simulated host: the Kubernetes upgrade chain (components/kubeadm/upgrade-scripts.ts) and the etcd snapshot tool
 * (components/etcd/scripts.ts), run in the program's order on a control plane and a worker booted at 1.33.10 by the
 * real bootstrap scripts.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { prepareScript } from "../../components/kubeadm/scripts";
import {
    UPGRADE_ANNOTATION,
    upgradeNodeScript,
    upgradeSnapshotScript,
    upgradeVerifyScript,
    upgradeWorkerScript,
} from "../../components/kubeadm/upgrade-scripts";
import { snapshotInstallScript, snapshotToolScript } from "../../components/etcd/scripts";
import {
    CLUSTER,
    initConfigFor,
    bootControlPlane,
    bootControlPlaneJoin,
    bootWorker,
    diffSnapshots,
    expectSuccess,
    hostTest,
    initialisedControlPlaneOptions,
    SimCluster,
    withHosts,
    type RunResult,
    type SimHost,
} from "./harness";

const SNAPSHOT_DIR = "/var/lib/homelab/etcd-snapshots";

/** Stages and installs the etcd snapshot tool on the control plane, as EtcdSnapshots does. */
async function installSnapshotTool(cp: SimHost, options: { retain?: number; schedule?: string } = {}): Promise<RunResult> {
    cp.stage({
        "etcd-snapshot.sh": snapshotToolScript({ nodeName: "cp1", dir: SNAPSHOT_DIR, retain: options.retain ?? 5 }),
        "etcd-snapshot-install.sh": snapshotInstallScript({ schedule: options.schedule ?? "" }),
    });
    return cp.runStaged("etcd-snapshot-install.sh");
}

/** Boots cp1 and w1 at 1.33.10 on one simulated cluster, with the snapshot tool installed. */
async function withCluster(fn: (cp: SimHost, worker: SimHost) => Promise<void>): Promise<void> {
    const cluster = new SimCluster();
    try {
        await withHosts([{ hostname: "cp1", cluster }, { hostname: "w1", cluster }], async ([cp, worker]) => {
            await bootControlPlane(cp, "cp1", { schedulableControlPlane: false });
            await bootWorker(cp, worker, "w1");
            expectSuccess(await installSnapshotTool(cp), "etcd-snapshot-install");
            await fn(cp, worker);
        });
    } finally {
        cluster.dispose();
    }
}

interface ChainStep {
    readonly name: string;
    readonly host: SimHost;
    readonly script: string;
    readonly args?: readonly string[];
}

/** Stages every script of a version change as the program uploads them (prepare included) and lists the steps in order. */
function stageChain(cp: SimHost, worker: SimHost, version: string): ChainStep[] {
    for (const host of [cp, worker]) host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: version }) });
    cp.stage({
        "upgrade-snapshot.sh": upgradeSnapshotScript({ kubernetesVersion: version }),
        "upgrade-node.sh": upgradeNodeScript({ role: "first", nodeName: "cp1", kubernetesVersion: version, drain: true }),
        "upgrade-worker.sh": upgradeWorkerScript({ kubernetesVersion: version }),
        "upgrade-verify.sh": upgradeVerifyScript({ kubernetesVersion: version }),
    });
    worker.stage({ "upgrade-node.sh": upgradeNodeScript({ role: "worker", nodeName: "w1", kubernetesVersion: version, drain: true }) });
    return [
        { name: "cp1-prepare", host: cp, script: "prepare.sh" },
        { name: "w1-prepare", host: worker, script: "prepare.sh" },
        { name: "upgrade-snapshot", host: cp, script: "upgrade-snapshot.sh" },
        { name: "cp1-upgrade", host: cp, script: "upgrade-node.sh" },
        { name: "w1-upgrade-drain", host: cp, script: "upgrade-worker.sh", args: ["drain", "w1"] },
        { name: "w1-upgrade", host: worker, script: "upgrade-node.sh" },
        { name: "w1-upgrade-uncordon", host: cp, script: "upgrade-worker.sh", args: ["uncordon", "w1"] },
        { name: "upgrade-verify", host: cp, script: "upgrade-verify.sh" },
    ];
}

/** Runs the steps in order until one fails; returns the failing step and its result, or undefined when all passed. */
async function runChain(steps: readonly ChainStep[]): Promise<{ step: string; result: RunResult } | undefined> {
    for (const step of steps) {
        const result = await step.host.runStaged(step.script, step.args ?? []);
        if (result.status !== 0) return { step: step.name, result };
    }
    return undefined;
}

/** Whether a node is cordoned (the stubs keep spec.unschedulable as its taint). */
async function cordoned(cp: SimHost, node: string): Promise<boolean> {
    return ((await cp.readCluster(`taints/${node}`)) ?? "").split("\n").includes("node.kubernetes.io/unschedulable:NoSchedule");
}

async function clearAll(...hosts: SimHost[]): Promise<void> {
    for (const host of hosts) await host.clearCalls();
}
async function mutations(host: SimHost): Promise<string[]> {
    return (await host.mutatingCalls()).map((c) => c.line);
}

/** Runs the chain and fails the test with the step's output unless every step passes. */
async function upgradeTo(cp: SimHost, worker: SimHost, version: string): Promise<void> {
    const failed = await runChain(stageChain(cp, worker, version));
    assert.equal(failed, undefined, failed && `${failed.step} failed:\n${failed.result.stderr}`);
}

/** The state every converged chain leaves: versions, holds, no cordon, no mark, no pending restart, no kube-proxy. */
async function assertUpgraded(cp: SimHost, worker: SimHost, version: string): Promise<void> {
    for (const [host, node] of [[cp, "cp1"], [worker, "w1"]] as const) {
        for (const pkg of ["kubelet", "kubeadm", "kubectl"]) {
            assert.equal(await host.readState(`dpkg/${pkg}`), `${version}-1.1 installed\n`, `${node}: ${pkg}`);
        }
        assert.equal(await host.check("apt-mark showhold"), "kubeadm\nkubectl\nkubelet\n", `${node}: holds re-applied`);
        assert.equal(await cp.readCluster(`kubelet-version/${node}`), `v${version}\n`, `${node}: kubelet restarted at ${version}`);
        assert.equal(await cordoned(cp, node), false, `${node} left cordoned`);
        assert.equal(await cp.readCluster(`annotations/${node}`), undefined, `${node} kept the cordon mark`);
        assert.equal(await host.exists("/var/lib/homelab/kubelet-restart-pending"), false, `${node}: restart still pending`);
    }
    const minor = version.split(".").slice(0, 2).join(".");
    assert.match(await worker.readFile("/etc/apt/sources.list.d/kubernetes.list"), new RegExp(`/v${minor.replace(".", "\\.")}/deb/`));
    assert.match(await cp.readFile("/etc/kubernetes/manifests/kube-apiserver.yaml"), new RegExp(`kube-apiserver:v${version.replace(/\./g, "\\.")}`));
    assert.equal(await cp.readCluster("objects/kube-system/daemonset/kube-proxy"), undefined);
}

/** A second run of the whole chain makes no mutating call and changes nothing on either host or in the cluster. */
async function assertRerunIsNoop(cp: SimHost, worker: SimHost, version: string): Promise<void> {
    const before = [await cp.snapshot(), await worker.snapshot()];
    await clearAll(cp, worker);
    await upgradeTo(cp, worker, version);
    assert.deepEqual(await mutations(cp), [], "control plane: a converged re-run mutates nothing");
    assert.deepEqual(await mutations(worker), [], "worker: a converged re-run mutates nothing");
    assert.deepEqual(diffSnapshots(before[0], await cp.snapshot()), []);
    assert.deepEqual(diffSnapshots(before[1], await worker.snapshot()), []);
}

describe("Kubernetes upgrade", { concurrency: 2 }, () => {
    hostTest("right after a fresh install the chain is a no-op; 1.33.10 → 1.34.1 runs kubeadm's order; a re-run does nothing", async () => {
        await withCluster(async (cp, worker) => {
            await clearAll(cp, worker);
            await upgradeTo(cp, worker, "1.33.10");
            assert.deepEqual(await mutations(cp), [], "a fresh control plane at the version: no mutating call");
            assert.deepEqual(await mutations(worker), [], "a fresh worker at the version: no mutating call, no drain");

            await clearAll(cp, worker);
            const steps = stageChain(cp, worker, "1.34.1");
            // prepare re-runs first (its script changed) and leaves a live node's packages to the upgrade steps.
            assert.equal(await runChain(steps.slice(0, 2)), undefined, "prepare");
            assert.deepEqual(await mutations(cp), [], "prepare on a live node at another version changes nothing");
            assert.deepEqual(await mutations(worker), []);
            // init re-runs too (the version is in its config): its drift refusal lets a version change through.
            cp.stage({ "kubeadm-init.yaml": initConfigFor("cp1", CLUSTER.token, { schedulableControlPlane: false }).replace("kubernetesVersion: v1.33.10", "kubernetesVersion: v1.34.1") });
            assert.match(await cp.readFile(`${cp.home}/.homelab/kubeadm-init.yaml`), /kubernetesVersion: v1\.34\.1/);
            expectSuccess(await cp.runStaged("init.sh"), "init.sh with the new version");
            assert.deepEqual(await mutations(cp), [], "a re-run of init on the live cluster is a no-op");
            await clearAll(cp, worker);
            const failed = await runChain(steps.slice(2));
            assert.equal(failed, undefined, failed && `${failed.step}: ${failed.result.stderr}`);

            const cpCalls = await mutations(cp);
            const kubeadmCalls = cpCalls.filter((l) => l.startsWith("kubeadm ") || l.startsWith("kubectl "));
            assert.deepEqual(kubeadmCalls.slice(0, 1), [
                "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system exec etcd-cp1 -- etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key snapshot save /var/lib/etcd/homelab-snapshot.db",
            ]);
            const order = (needle: string): number => {
                const i = cpCalls.findIndex((l) => l.includes(needle));
                assert.ok(i >= 0, `no call with ${needle} in:\n${cpCalls.join("\n")}`);
                return i;
            };
            assert.ok(order("etcdctl") < order("apt-mark unhold kubeadm"), "snapshot before any package moves");
            assert.ok(order("apt-mark unhold kubeadm") < order("kubeadm upgrade apply"));
            assert.ok(order("kubeadm upgrade apply v1.34.1 --yes --skip-phases=addon/kube-proxy") < order("kubectl --kubeconfig /etc/kubernetes/admin.conf drain cp1"));
            assert.ok(order("drain cp1") < order("apt-mark unhold kubelet"));
            assert.ok(order("apt-mark unhold kubelet") < order("systemctl restart kubelet"));
            assert.ok(order("systemctl restart kubelet") < order("uncordon cp1"));
            assert.ok(order("uncordon cp1") < order("drain w1"), "the worker is drained only after the control plane is done");
            assert.ok(order("drain w1") < order("uncordon w1"));
            assert.match(cpCalls.find((l) => l.includes("drain w1")) ?? "", /--ignore-daemonsets --delete-emptydir-data --timeout=5m$/);
            assert.deepEqual(
                cpCalls.filter((l) => l.startsWith("apt-mark")),
                ["apt-mark unhold kubeadm", "apt-mark hold kubeadm", "apt-mark unhold kubelet", "apt-mark unhold kubectl", "apt-mark hold kubelet", "apt-mark hold kubectl"],
                "holds lifted only around each package move and re-applied",
            );
            const workerCalls = await mutations(worker);
            assert.deepEqual(
                workerCalls.filter((l) => /^(kubeadm|systemctl|apt-get install)/.test(l)),
                [
                    "apt-get install -y -q --allow-downgrades kubeadm=1.34.1-1.1",
                    "kubeadm upgrade node",
                    "apt-get install -y -q --allow-downgrades kubelet=1.34.1-1.1 kubectl=1.34.1-1.1",
                    "systemctl daemon-reload",
                    "systemctl restart kubelet",
                ],
            );
            const snapshots = (await cp.check(`ls ${SNAPSHOT_DIR}`)).trim().split("\n");
            assert.equal(snapshots.length, 1);
            assert.match(snapshots[0], /^etcd-\d{8}T\d{6}\.\d+Z-pre-upgrade-v1\.34\.1\.db$/);
            await assertUpgraded(cp, worker, "1.34.1");
            await assertRerunIsNoop(cp, worker, "1.34.1");
        });
    });

    hostTest("an interruption at each step completes on the next run", async () => {
        await withCluster(async (cp, worker) => {
            // [fault on a host, the step it stops, the version it upgrades to]
            const faults: readonly [SimHost, string, string, string][] = [
                [cp, "kubectl-exec", "upgrade-snapshot", "1.33.11"],
                [cp, "kubeadm-upgrade-apply", "cp1-upgrade", "1.33.12"],
                // kubeadm (and the control plane) upgraded, kubelet package not yet.
                [cp, "apt-get-install", "cp1-upgrade", "1.34.0"],
                // kubelet package moved, kubelet never restarted.
                [worker, "systemctl-restart", "w1-upgrade", "1.34.1"],
                // a drain that runs into its timeout: the worker stays cordoned (by us).
                [cp, "kubectl-drain", "w1-upgrade-drain", "1.34.2"],
                // the worker upgraded, its uncordon interrupted.
                [cp, "kubectl-uncordon", "w1-upgrade-uncordon", "1.34.3"],
            ];
            for (const [host, fault, step, version] of faults) {
                await host.injectFault(fault, fault === "kubectl-drain" || fault === "kubectl-uncordon" ? "w1" : fault === "apt-get-install" ? "kubelet=" : "");
                const failed = await runChain(stageChain(cp, worker, version));
                assert.equal(failed?.step, step, `${fault}: expected ${step} to fail, got ${failed?.step ?? "success"}`);
                if (fault === "kubectl-drain") {
                    assert.equal(await cordoned(cp, "w1"), true, "the worker stays cordoned after a failed drain");
                    assert.equal(await cp.readCluster("annotations/w1"), `${UPGRADE_ANNOTATION}=${version}\n`, "marked as ours");
                }
                if (fault === "systemctl-restart") {
                    assert.equal(await worker.exists("/var/lib/homelab/kubelet-restart-pending"), true);
                    assert.equal(await worker.readState("dpkg/kubelet"), `${version}-1.1 installed\n`, "the package moved already");
                }
                await host.clearFaults();
                await upgradeTo(cp, worker, version);
                await assertUpgraded(cp, worker, version);
                await assertRerunIsNoop(cp, worker, version);
            }
        });
    });

    hostTest("a node the user cordoned stays cordoned after the upgrade", async () => {
        await withCluster(async (cp, worker) => {
            expectSuccess(await cp.run("kubectl --kubeconfig /etc/kubernetes/admin.conf cordon w1"), "user cordon");
            await upgradeTo(cp, worker, "1.33.11");
            assert.equal(await cordoned(cp, "w1"), true, "w1 is still cordoned");
            assert.equal(await cp.readCluster("annotations/w1"), undefined);
        });
    });

    hostTest("kube-proxy re-created by kubeadm upgrade apply is detected and named", async () => {
        await withCluster(async (cp, worker) => {
            // A kubeadm that brings kube-proxy back on upgrade even when told to skip it (kubeadm#3137's regression).
            await cp.writeState("kubeadm-upgrade-installs-kube-proxy", "");
            const failed = await runChain(stageChain(cp, worker, "1.34.1"));
            assert.equal(failed?.step, "cp1-upgrade");
            assert.match(
                failed?.result.stderr ?? "",
                /kube-proxy DaemonSet ConfigMap appeared in kube-system after kubeadm upgraded the cluster \(kubeadm re-creates it on upgrade: kubernetes#84584, kubeadm#3137\).*kubectl -n kube-system delete ds\/kube-proxy cm\/kube-proxy, then on every node iptables-save \| grep -v KUBE \| iptables-restore/,
            );
            assert.equal(await worker.readState("dpkg/kubelet"), "1.33.10-1.1 installed\n", "no worker was touched");
            // Still refused on the next run, and by the final check, until someone removes it.
            assert.equal((await runChain(stageChain(cp, worker, "1.34.1")))?.step, "cp1-upgrade");
            assert.notEqual((await cp.runStaged("upgrade-verify.sh")).status, 0);
        });
    });

    const refusals: readonly [string, string, RegExp][] = [
        ["a skipped minor", "1.35.0", /kubernetesVersion is 1\.35\.0 but the cluster runs 1\.33\.10: kubeadm upgrades one minor at a time; set kubernetesVersion to a 1\.34 patch, run pulumi up, then go on to 1\.35\.0/],
        ["a patch downgrade", "1.33.9", /kubernetesVersion is 1\.33\.9 but the cluster already runs 1\.33\.10: downgrades are not supported \(kubeadm only upgrades\); set kubernetesVersion back to 1\.33\.10/],
        ["a minor downgrade", "1.32.4", /kubernetesVersion is 1\.32\.4 but the cluster already runs 1\.33\.10: downgrades are not supported/],
    ];
    for (const [what, version, message] of refusals) {
        hostTest(`${what} is refused by the first step, and by each node's step, with no mutation`, async () => {
            await withHosts([initialisedControlPlaneOptions({ nodes: { w1: "0".repeat(32) } })], async ([cp]) => {
                cp.stage({
                    "upgrade-snapshot.sh": upgradeSnapshotScript({ kubernetesVersion: version }),
                    "upgrade-node.sh": upgradeNodeScript({ role: "first", nodeName: "cp1", kubernetesVersion: version, drain: true }),
                    "upgrade-worker.sh": upgradeWorkerScript({ kubernetesVersion: version }),
                });
                await cp.clearCalls();
                for (const [script, args] of [["upgrade-snapshot.sh", []], ["upgrade-node.sh", []], ["upgrade-worker.sh", ["drain", "w1"]]] as const) {
                    const result = await cp.runStaged(script, args);
                    assert.notEqual(result.status, 0, `${script} accepted ${version}`);
                    assert.match(result.stderr, script === "upgrade-worker.sh" ? /node w1/ : message);
                }
                assert.deepEqual(await mutations(cp), []);
            });
        });
    }

    hostTest("a worker's own step refuses a skipped minor before touching packages", async () => {
        await withCluster(async (cp, worker) => {
            worker.stage({ "upgrade-node.sh": upgradeNodeScript({ role: "worker", nodeName: "w1", kubernetesVersion: "1.35.1", drain: true }) });
            await worker.clearCalls();
            const result = await worker.runStaged("upgrade-node.sh");
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /this node's kubelet runs 1\.33\.10: kubeadm upgrades one minor at a time/);
            assert.deepEqual(await mutations(worker), []);
            assert.ok(cp);
        });
    });
});

describe("Kubernetes upgrade of HA control planes", () => {
    hostTest("1.33.10 → 1.34.1 with two control planes: apply on the first, then kubeadm upgrade node on the other; never the other way round", async () => {
        const cluster = new SimCluster();
        try {
            await withHosts([{ hostname: "cp1", cluster }, { hostname: "cp2", cluster, machineId: "02".padEnd(32, "5e") }], async ([cp1, cp2]) => {
                await bootControlPlane(cp1);
                await bootControlPlaneJoin(cp1, cp2, "cp2");
                expectSuccess(await installSnapshotTool(cp1), "etcd-snapshot-install");
                const version = "1.34.1";
                for (const host of [cp1, cp2]) host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: version }) });
                cp1.stage({
                    "upgrade-snapshot.sh": upgradeSnapshotScript({ kubernetesVersion: version }),
                    "upgrade-node.sh": upgradeNodeScript({ role: "first", nodeName: "cp1", kubernetesVersion: version, drain: true }),
                    "upgrade-verify.sh": upgradeVerifyScript({ kubernetesVersion: version }),
                });
                cp2.stage({ "upgrade-node.sh": upgradeNodeScript({ role: "control-plane", nodeName: "cp2", kubernetesVersion: version, drain: true }) });
                for (const host of [cp1, cp2]) expectSuccess(await host.runStaged("prepare.sh"), "prepare");

                // Out of order (a run that lost the first control plane's step): refused, nothing moved.
                await clearAll(cp2);
                const early = await cp2.runStaged("upgrade-node.sh");
                assert.notEqual(early.status, 0);
                assert.match(early.stderr, /the first control plane has not upgraded the cluster to 1\.34\.1 yet \(it runs 1\.33\.10\): its upgrade step must finish first/);
                assert.deepEqual(await mutations(cp2), []);

                await clearAll(cp1, cp2);
                for (const [host, script] of [[cp1, "upgrade-snapshot.sh"], [cp1, "upgrade-node.sh"], [cp2, "upgrade-node.sh"], [cp1, "upgrade-verify.sh"]] as const) {
                    expectSuccess(await host.runStaged(script), `${host === cp1 ? "cp1" : "cp2"}: ${script}`);
                }
                assert.ok((await mutations(cp1)).includes("kubeadm upgrade apply v1.34.1 --yes --skip-phases=addon/kube-proxy"));
                const cp2Calls = await mutations(cp2);
                assert.deepEqual(
                    cp2Calls.filter((l) => l.startsWith("kubeadm ")),
                    ["kubeadm upgrade node --skip-phases=addon/kube-proxy"],
                    "the other control plane upgrades its own instance, without kube-proxy",
                );
                assert.match(await cp2.readFile("/etc/kubernetes/manifests/kube-apiserver.yaml"), /kube-apiserver:v1\.34\.1/);
                assert.equal(await cp1.readCluster("kubelet-version/cp2"), "v1.34.1\n");
                assert.equal(await cordoned(cp1, "cp2"), false, "cp2 uncordoned after its upgrade");
                assert.equal(await cp1.readCluster("objects/kube-system/daemonset/kube-proxy"), undefined);

                // A re-run of every step changes nothing.
                const before = [await cp1.snapshot(), await cp2.snapshot()];
                await clearAll(cp1, cp2);
                for (const [host, script] of [[cp1, "upgrade-snapshot.sh"], [cp1, "upgrade-node.sh"], [cp2, "upgrade-node.sh"], [cp1, "upgrade-verify.sh"]] as const) {
                    expectSuccess(await host.runStaged(script), `re-run: ${script}`);
                }
                assert.deepEqual([...(await mutations(cp1)), ...(await mutations(cp2))], []);
                assert.deepEqual(diffSnapshots(before[0], await cp1.snapshot()), []);
                assert.deepEqual(diffSnapshots(before[1], await cp2.snapshot()), []);
            });
        } finally {
            cluster.dispose();
        }
    });
});

describe("etcd snapshots", { concurrency: 2 }, () => {
    hostTest("the tool saves root-only snapshots through the etcd pod, prints the path, and keeps the newest N", async () => {
        await withHosts([initialisedControlPlaneOptions()], async ([cp]) => {
            expectSuccess(await installSnapshotTool(cp, { retain: 2 }), "install");
            assert.equal(await cp.check("stat -c %a /usr/local/sbin/homelab-etcd-snapshot"), "755\n");
            const paths: string[] = [];
            for (let i = 0; i < 3; i++) {
                const out = expectSuccess(await cp.run("homelab-etcd-snapshot on-demand"), "snapshot").stdout.trim();
                assert.match(out, /^\/var\/lib\/homelab\/etcd-snapshots\/etcd-\d{8}T\d{6}\.\d+Z-on-demand\.db$/);
                paths.push(out);
            }
            assert.deepEqual((await cp.check(`ls ${SNAPSHOT_DIR}`)).trim().split("\n"), paths.slice(1).map((p) => p.split("/").pop()));
            assert.equal(await cp.check(`stat -c %a ${SNAPSHOT_DIR} ${paths[2]}`), "700\n600\n");
            assert.match(await cp.readFile(paths[2]), /simulated etcd snapshot of cp1/);
            assert.equal(await cp.exists("/var/lib/etcd/homelab-snapshot.db"), false, "nothing left in the etcd data directory");
        });
    });

    hostTest("snapshots taken at the same moment (timer, upgrade, operator) wait for each other and both land", async () => {
        await withHosts([initialisedControlPlaneOptions()], async ([cp]) => {
            expectSuccess(await installSnapshotTool(cp, { retain: 5 }), "install");
            const both = expectSuccess(
                await cp.run("homelab-etcd-snapshot first >first.out & a=$!; homelab-etcd-snapshot second >second.out & b=$!; wait $a && wait $b && cat first.out second.out"),
                "two snapshots at once",
            );
            const paths = both.stdout.trim().split("\n");
            assert.equal(paths.length, 2, both.stderr);
            assert.match(paths[0], /-first\.db$/);
            assert.match(paths[1], /-second\.db$/);
            for (const path of paths) assert.match(await cp.readFile(path), /simulated etcd snapshot of cp1/);

            // Deterministically: while another holder has the lock, a snapshot does not touch the etcd pod.
            await cp.clearCalls();
            const held = expectSuccess(
                await cp.run(
                    "exec 8>/run/homelab-etcd-snapshot.lock && flock 8 && { homelab-etcd-snapshot held 8>&- >held.out & pid=$!; }; " +
                        "/bin/sleep 1; echo \"while held: $(cat held.out)\"; exec 8>&-; wait $pid; echo \"after: $(cat held.out)\"",
                ),
                "a snapshot behind a held lock",
            );
            assert.match(held.stdout, /^while held: \nafter: \/var\/lib\/homelab\/etcd-snapshots\/etcd-\S+-held\.db$/m, held.stderr);
        });
    });

    hostTest("a failing etcdctl fails the snapshot and keeps the older ones", async () => {
        await withHosts([initialisedControlPlaneOptions()], async ([cp]) => {
            expectSuccess(await installSnapshotTool(cp, { retain: 1 }), "install");
            const first = expectSuccess(await cp.run("homelab-etcd-snapshot"), "snapshot").stdout.trim();
            await cp.injectFault("kubectl-exec");
            const failed = await cp.run("homelab-etcd-snapshot");
            assert.notEqual(failed.status, 0);
            assert.match(failed.stderr, /etcdctl snapshot save failed in pod kube-system\/etcd-cp1/);
            assert.equal((await cp.check(`ls ${SNAPSHOT_DIR}`)).trim(), first.split("/").pop());
        });
    });

    hostTest("a schedule installs a systemd timer once; an empty schedule removes it", async () => {
        await withHosts([initialisedControlPlaneOptions()], async ([cp]) => {
            expectSuccess(await installSnapshotTool(cp, { schedule: "*-*-* 03:00:00" }), "install with a schedule");
            assert.match(await cp.readFile("/etc/systemd/system/homelab-etcd-snapshot.timer"), /^OnCalendar=\*-\*-\* 03:00:00$/m);
            assert.match(await cp.readFile("/etc/systemd/system/homelab-etcd-snapshot.service"), /^ExecStart=\/usr\/local\/sbin\/homelab-etcd-snapshot scheduled$/m);
            assert.equal(await cp.readState("units/homelab-etcd-snapshot.timer.enabled"), "");
            assert.notEqual(await cp.readState("units/homelab-etcd-snapshot.timer.active"), undefined);
            const before = await cp.snapshot();
            await cp.clearCalls();
            expectSuccess(await installSnapshotTool(cp, { schedule: "*-*-* 03:00:00" }), "install again");
            assert.deepEqual(await mutations(cp), []);
            assert.deepEqual(diffSnapshots(before, await cp.snapshot()), []);

            expectSuccess(await installSnapshotTool(cp, { schedule: "daily" }), "a new schedule");
            assert.match(await cp.readFile("/etc/systemd/system/homelab-etcd-snapshot.timer"), /^OnCalendar=daily$/m);
            assert.ok((await mutations(cp)).includes("systemctl restart homelab-etcd-snapshot.timer"));

            expectSuccess(await installSnapshotTool(cp, { schedule: "" }), "no schedule");
            assert.equal(await cp.exists("/etc/systemd/system/homelab-etcd-snapshot.timer"), false);
            assert.equal(await cp.readState("units/homelab-etcd-snapshot.timer.enabled"), undefined);
            assert.equal(await cp.exists("/usr/local/sbin/homelab-etcd-snapshot"), true, "the on-demand tool stays");
        });
    });
});
