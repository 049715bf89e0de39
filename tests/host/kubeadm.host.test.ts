/**
 * The generated scripts run for real (bash, as root) on simulated hosts: a fresh control plane and a worker go through
 * the program's steps, every script is re-run to prove it changes nothing once applied, later init runs follow
 * schedulableControlPlane, the host records which node it is, and nodes are reset (unless the host is another node now).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe } from "node:test";
import { joinScript } from "../../components/kubeadm/scripts";
import {
    bootControlPlane,
    bootWorker,
    caCertHashOf,
    CLUSTER,
    clusterConfigurationOf,
    CONTROL_PLANE_TAINT,
    diffSnapshots,
    ensureTokenInput,
    expectSuccess,
    hostTest,
    runMembership,
    runReset,
    SimCluster,
    SimHost,
    stageControlPlane,
    withHost,
    withHosts,
    type RunResult,
} from "./harness";

const FRESH_MACHINE_ID = "4c2f0f3f6d1e4b7a9c8d7e6f5a4b3c2d";
/** Where the membership step records which node the host is. */
const MEMBER_FILE = "/var/lib/homelab/member";
/** The admin kubeconfig kubectl is pointed at on the control plane. */
const ADMIN = ["--kubeconfig", "/etc/kubernetes/admin.conf"] as const;

/** Re-runs a step and asserts it made no mutating call and left every file and every bit of state as it was. */
async function assertNoChange(host: SimHost, what: string, run: () => Promise<RunResult>): Promise<RunResult> {
    const before = await host.snapshot();
    await host.clearCalls();
    const result = expectSuccess(await run(), `second run of ${what}`);
    const mutating = (await host.mutatingCalls()).map((c) => c.line);
    assert.deepEqual(mutating, [], `second run of ${what} made mutating calls`);
    assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], `second run of ${what} changed the host`);
    return result;
}

describe("control plane on a fresh host", { concurrency: 2 }, () => {
    hostTest("preflight, prepare, init and credentials take a fresh host to a control plane", async () => {
        await withHost({ hostname: "cp1", machineId: FRESH_MACHINE_ID }, async (host) => {
            stageControlPlane(host);

            const preflight = expectSuccess(await host.runStaged("preflight.sh"), "preflight");
            assert.equal(preflight.stdout, `hostname=cp1\nmachine-id=${FRESH_MACHINE_ID}\n`);
            assert.match(preflight.stderr, /swap is on/);

            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            // Swap: off now and commented out of fstab (the rest of fstab untouched, a backup kept).
            assert.equal(await host.readState("swap"), "");
            const fstab = await host.readFile("/etc/fstab");
            assert.match(fstab, /^# disabled by homelab \(kubelet needs swap off\): \/swapfile +none +swap +sw/m);
            assert.doesNotMatch(fstab, /^\s*[^#\s]\S*\s+\S+\s+swap\s/m);
            assert.match(fstab, /^UUID=\S+ \/ +ext4 /m);
            assert.match(await host.readFile("/etc/fstab.homelab.bak"), /^\/swapfile +none +swap/m);
            // Kernel modules: loaded and persisted.
            const modules = await host.readFile("/proc/modules");
            assert.match(modules, /^overlay /m);
            assert.match(modules, /^br_netfilter /m);
            assert.deepEqual(
                (await host.check("ls /sys/module")).trim().split("\n").sort(),
                ["br_netfilter", "bridge", "ext4", "llc", "nf_tables", "overlay", "stp", "virtio_net"],
                "a loaded module has its /sys/module directory",
            );
            assert.deepEqual(
                (await host.calls()).filter((c) => c.tool === "modprobe").map((c) => c.line),
                ["modprobe overlay", "modprobe br_netfilter"],
            );
            assert.equal(await host.readFile("/etc/modules-load.d/kubernetes.conf"), "overlay\nbr_netfilter\n");
            // Sysctls: persisted and live.
            const sysctlFile = await host.readFile("/etc/sysctl.d/99-kubernetes.conf");
            for (const key of ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"]) {
                assert.match(sysctlFile, new RegExp(`^${key.replace(/\./g, "\\.")} = 1$`, "m"));
                assert.equal(await host.readState(`sysctl/${key}`), "1\n", `live ${key}`);
            }
            // The per-minor pkgs.k8s.io repository and its key.
            assert.equal(
                await host.readFile("/etc/apt/sources.list.d/kubernetes.list"),
                "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.33/deb/ /\n",
            );
            assert.equal(
                (await host.check("stat -c '%a %s' /etc/apt/keyrings/kubernetes-apt-keyring.gpg")).trim().split(" ")[0],
                "644",
            );
            assert.match(await host.readState("apt/lists") ?? "", /^https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb\/$/m);
            // kubelet, kubeadm, kubectl at the exact patch, configured and held.
            for (const pkg of ["kubelet", "kubeadm", "kubectl"]) {
                assert.equal(await host.readState(`dpkg/${pkg}`), "1.33.10-1.1 installed\n", pkg);
            }
            assert.equal(await host.check("apt-mark showhold"), "kubeadm\nkubectl\nkubelet\n");
            // containerd: systemd cgroups, kubeadm's pause image, running with exactly that file.
            const config = await host.readFile("/etc/containerd/config.toml");
            assert.match(config, /^\s+SystemdCgroup = true$/m);
            assert.doesNotMatch(config, /SystemdCgroup = false/);
            assert.match(config, /^\s+sandbox_image = "registry\.k8s\.io\/pause:3\.10"$/m);
            assert.doesNotMatch(config, /pause:3\.8/);
            assert.equal(await host.check("systemctl is-enabled containerd"), "enabled\n");
            assert.equal(await host.check("systemctl is-active containerd"), "active\n");
            const configDigest = createHash("sha256").update(config).digest("hex");
            assert.match(await host.readState("units/containerd.active") ?? "", new RegExp(`^config=sha256:${configDigest} `));
            assert.equal(await host.check("systemctl is-enabled kubelet"), "enabled\n");

            expectSuccess(await runMembership(host, "cp1"), "membership");
            assert.equal(await host.readFile(MEMBER_FILE), "cp1\n");
            const init = expectSuccess(await host.runStaged("init.sh"), "init");
            for (const output of [init.stdout, init.stderr]) {
                assert.ok(!output.includes(CLUSTER.token), "init printed the bootstrap token");
            }
            const adminConf = await host.readFile("/etc/kubernetes/admin.conf");
            assert.match(adminConf, /^\s+server: https:\/\/k8s\.lab\.internal:6443$/m);
            // What kubeadm stored for later runs: the ClusterConfiguration it was given, readable as the API serves it.
            const stored = await host.check(
                `kubectl ${ADMIN.join(" ")} -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}'`,
            );
            assert.equal(stored, clusterConfigurationOf(await host.readFile(`${host.home}/.homelab/kubeadm-init.yaml`)));
            assert.match(stored, /^clusterName: lab$/m);
            // schedulableControlPlane: kubeadm left the control-plane taint off.
            assert.equal(await host.readCluster("taints/cp1"), undefined);
            assert.equal(await host.readCluster("objects/kube-system/daemonset/kube-proxy"), undefined);
            assert.equal(await host.readCluster("objects/kube-system/configmap/kube-proxy"), undefined);
            // kubeadm's output, with the join token, stays in a root-only log.
            assert.equal(await host.check("stat -c %a /var/log/homelab /var/log/homelab/init.log"), "700\n600\n");
            assert.ok((await host.readFile("/var/log/homelab/init.log")).includes(CLUSTER.token));
            assert.doesNotMatch(await host.readFile("/var/log/homelab/init.log"), /inconsistent with that used by kubeadm/);

            const kubeconfig = expectSuccess(await host.runStaged("credentials.sh", ["kubeconfig"]), "credentials kubeconfig");
            assert.equal(kubeconfig.stdout, adminConf);
            const hash = expectSuccess(await host.runStaged("credentials.sh", ["ca-cert-hash"]), "credentials ca-cert-hash");
            assert.match(hash.stdout, /^sha256:[0-9a-f]{64}\n$/);
            assert.equal(hash.stdout.trim(), caCertHashOf(await host.readFile("/etc/kubernetes/pki/ca.crt")));
        });
    });

    hostTest("a second run of every control-plane script changes nothing", async () => {
        await withHost({}, async (host) => {
            await bootControlPlane(host);
            expectSuccess(await host.runStaged("credentials.sh", ["kubeconfig"]), "credentials kubeconfig");
            for (const script of ["preflight.sh", "prepare.sh"]) {
                await assertNoChange(host, script, () => host.runStaged(script));
            }
            await assertNoChange(host, "membership", () => runMembership(host, "cp1"));
            await assertNoChange(host, "init.sh", () => host.runStaged("init.sh"));
            for (const what of ["kubeconfig", "ca-cert-hash"]) {
                await assertNoChange(host, `credentials.sh ${what}`, () => host.runStaged("credentials.sh", [what]));
            }
            // ensure-token for a worker that has not joined yet: the first run finds init's token still valid.
            const stdin = ensureTokenInput("w1", "0123456789abcdef0123456789abcdef");
            expectSuccess(await host.runStaged("ensure-token.sh", [], { stdin }), "ensure-token");
            await assertNoChange(host, "ensure-token.sh", () => host.runStaged("ensure-token.sh", [], { stdin }));
        });
    });

    hostTest("credentials refuse an admin.conf that points elsewhere and a host that is not initialised", async () => {
        await withHost({}, async (host) => {
            stageControlPlane(host);
            const missing = await host.runStaged("credentials.sh", ["kubeconfig"]);
            assert.notEqual(missing.status, 0);
            assert.match(missing.stderr, /admin\.conf is missing/);
            assert.equal(missing.stdout, "");
            await host.writeFile("/etc/kubernetes/admin.conf", "clusters:\n- cluster:\n    server: https://10.0.0.99:6443\n", 0o600);
            const elsewhere = await host.runStaged("credentials.sh", ["kubeconfig"]);
            assert.notEqual(elsewhere.status, 0);
            assert.match(elsewhere.stderr, /does not point at https:\/\/k8s\.lab\.internal:6443/);
            assert.equal(elsewhere.stdout, "", "a kubeconfig for another endpoint must not be returned");
        });
    });

    hostTest("kubeadm registers the node with the taints nodeRegistration lists; later runs leave other taints alone", async () => {
        await withHost({}, async (host) => {
            stageControlPlane(host);
            // A list replaces kubeadm's default, as a startup taint for a controller to remove would.
            const config = await host.readFile(`${host.home}/.homelab/kubeadm-init.yaml`);
            assert.ok(config.includes("  taints: []\n"));
            host.stage({ "kubeadm-init.yaml": config.replace("  taints: []\n", "  taints:\n    - key: example.com/not-ready\n      effect: NoSchedule\n") });
            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            expectSuccess(await host.runStaged("init.sh"), "init");
            assert.equal(await host.readCluster("taints/cp1"), "example.com/not-ready:NoSchedule\n");
            await assertNoChange(host, "init.sh", () => host.runStaged("init.sh"));
        });
    });

    hostTest("kubeadm taints an unschedulable control plane; later runs remove or add the taint, then change nothing", async () => {
        await withHost({}, async (host) => {
            const jsonpath = `{.spec.taints[?(@.key=="${CONTROL_PLANE_TAINT}")].effect}`;
            const effect = (): Promise<string> => host.check(`kubectl ${ADMIN.join(" ")} get node cp1 -o 'jsonpath=${jsonpath}'`);
            const initWith = async (schedulableControlPlane: boolean): Promise<string[]> => {
                stageControlPlane(host, "cp1", CLUSTER.token, { schedulableControlPlane });
                await host.clearCalls();
                expectSuccess(await host.runStaged("init.sh"), `init (schedulableControlPlane ${schedulableControlPlane})`);
                return (await host.mutatingCalls()).map((c) => c.line);
            };

            await bootControlPlane(host, "cp1", { schedulableControlPlane: false });
            assert.equal(await effect(), "NoSchedule", "kubeadm init taints a control plane whose config lists no taints");
            await assertNoChange(host, "init.sh (unschedulable, tainted)", () => host.runStaged("init.sh"));

            assert.deepEqual(await initWith(true), [`kubectl ${ADMIN.join(" ")} taint node cp1 ${CONTROL_PLANE_TAINT}-`]);
            assert.equal(await effect(), "");
            await assertNoChange(host, "init.sh (schedulable, untainted)", () => host.runStaged("init.sh"));

            assert.deepEqual(await initWith(false), [`kubectl ${ADMIN.join(" ")} taint node cp1 ${CONTROL_PLANE_TAINT}:NoSchedule`]);
            assert.equal(await effect(), "NoSchedule");
            await assertNoChange(host, "init.sh (unschedulable again)", () => host.runStaged("init.sh"));
            assert.equal(await host.readCluster("taints/cp1"), `${CONTROL_PLANE_TAINT}:NoSchedule\n`, "one taint, not two");
        });
    });
});

describe("worker", { concurrency: 2 }, () => {
    hostTest("a worker goes through preflight, prepare, ensure-token on the control plane and join", async () => {
        const cluster = new SimCluster();
        try {
            await withHosts(
                [{ hostname: "cp1", cluster }, { hostname: "w1", cluster, cpus: 1, memoryMiB: 1024, machineId: FRESH_MACHINE_ID }],
                async ([cp, worker]) => {
                    if (!cp || !worker) throw new Error("hosts missing");
                    await bootControlPlane(cp);
                    await worker.clearCalls();
                    await bootWorker(cp, worker, "w1");

                    const joins = (await worker.calls()).filter((c) => c.tool === "kubeadm" && c.args[0] === "join");
                    assert.deepEqual(joins.map((c) => c.line), ["kubeadm join --config .homelab/kubeadm-join.yaml"]);
                    assert.ok(await worker.exists("/etc/kubernetes/kubelet.conf"));
                    assert.equal(await worker.exists("/etc/kubernetes/bootstrap-kubelet.conf"), false);
                    assert.equal(await cp.readCluster("nodes/w1"), `${FRESH_MACHINE_ID} Ready\n`);
                    assert.equal(
                        await worker.readFile("/etc/kubernetes/pki/ca.crt"),
                        await cp.readFile("/etc/kubernetes/pki/ca.crt"),
                    );
                    for (const pkg of ["kubelet", "kubeadm", "kubectl"]) {
                        assert.equal(await worker.readState(`dpkg/${pkg}`), "1.33.10-1.1 installed\n");
                    }

                    // Second runs: the worker's scripts, and ensure-token now that the node is a member.
                    for (const script of ["preflight.sh", "prepare.sh", "join.sh"]) {
                        await assertNoChange(worker, script, () => worker.runStaged(script));
                    }
                    const again = await assertNoChange(cp, "ensure-token.sh (member)", () =>
                        cp.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", FRESH_MACHINE_ID) }),
                    );
                    assert.match(again.stderr, /w1 is already a member of the cluster/);
                },
            );
        } finally {
            cluster.dispose();
        }
    });

    hostTest("join does nothing on a host that already has kubelet.conf", async () => {
        await withHost(
            {
                hostname: "w1",
                swap: false,
                packages: { kubeadm: "1.33.10-1.1" },
                files: { "/etc/kubernetes/kubelet.conf": { content: "kind: Config\n", mode: 0o600 } },
            },
            async (host) => {
                host.stage({ "join.sh": joinScript() });
                await host.clearCalls();
                const result = expectSuccess(await host.runStaged("join.sh"), "join");
                assert.match(result.stderr, /already joined/);
                assert.deepEqual((await host.calls()).map((c) => c.line), []);
            },
        );
    });
});

describe("reset", { concurrency: 2 }, () => {
    hostTest("reset removes a control plane's kubeadm state and CNI configuration; a second reset is a no-op", async () => {
        await withHost({}, async (host) => {
            await bootControlPlane(host);
            await host.writeFile("/etc/cni/net.d/05-cilium.conflist", '{"cniVersion":"1.0.0","name":"cilium"}\n');
            await host.writeFile("/etc/cni/net.d/.keep", "");

            expectSuccess(await runReset(host, "cp1"), "reset");
            // kubeadm empties its directories but keeps them; no file may be left.
            const leftovers = await host.check("find /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d ! -type d");
            assert.equal(leftovers, "", "kubeadm state or CNI configuration left behind");
            assert.equal(await host.check("find /etc/cni/net.d -mindepth 1"), "");
            assert.ok(await host.exists("/etc/cni/net.d"), "the CNI directory itself stays");
            assert.equal(await host.check("systemctl is-active kubelet || true"), "inactive\n");
            assert.equal(await host.readCluster("endpoint"), undefined, "the single control plane's etcd is gone");
            assert.equal(await host.exists(MEMBER_FILE), false, "the host no longer records a node");
            // The host can be initialised again from scratch.
            await assertNoChange(host, "reset", () => runReset(host, "cp1"));
            expectSuccess(await host.runStaged("init.sh"), "init after reset");
        });
    });

    hostTest("reset removes a worker's kubeadm state; a second reset is a no-op", async () => {
        const cluster = new SimCluster();
        try {
            await withHosts([{ hostname: "cp1", cluster }, { hostname: "w1", cluster, machineId: FRESH_MACHINE_ID }], async ([cp, worker]) => {
                if (!cp || !worker) throw new Error("hosts missing");
                await bootControlPlane(cp);
                await bootWorker(cp, worker, "w1");
                await worker.writeFile("/etc/cni/net.d/05-cilium.conflist", "{}\n");
                assert.equal(await worker.readFile(MEMBER_FILE), "w1\n");
                expectSuccess(await runReset(worker, "w1"), "reset");
                assert.equal(await worker.check("find /etc/kubernetes /var/lib/kubelet /etc/cni/net.d ! -type d"), "");
                assert.equal(await worker.exists(MEMBER_FILE), false);
                // kubeadm reset leaves the Node object; it turns NotReady once the kubelet stops.
                assert.equal(await cp.readCluster("nodes/w1"), `${FRESH_MACHINE_ID} NotReady\n`);
                await assertNoChange(worker, "reset", () => runReset(worker, "w1"));
            });
        } finally {
            cluster.dispose();
        }
    });

    hostTest("reset on a prepared host that never joined a cluster changes nothing", async () => {
        await withHost({}, async (host) => {
            stageControlPlane(host);
            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            await assertNoChange(host, "reset (never joined)", () => runReset(host, "cp1"));
        });
    });

    hostTest("membership records the node on the host; a second run changes nothing, a new name replaces it", async () => {
        await withHost({ hostname: "w1", swap: false }, async (host) => {
            await host.clearCalls();
            expectSuccess(await runMembership(host, "w1"), "membership");
            assert.equal(await host.readFile(MEMBER_FILE), "w1\n");
            assert.deepEqual(await host.calls(), [], "membership calls no system tool");
            await assertNoChange(host, "membership", () => runMembership(host, "w1"));
            expectSuccess(await runMembership(host, "w1-renamed"), "membership under a new name");
            assert.equal(await host.readFile(MEMBER_FILE), "w1-renamed\n");
        });
    });

    hostTest("a reset for another node than the host records leaves it alone; without a record it resets", async (t) => {
        await withHost({}, async (host) => {
            await bootControlPlane(host, "cp1");
            await t.test("renamed: the new name's membership ran, then the old name's reset", async () => {
                expectSuccess(await runMembership(host, "cp1-renamed"), "membership of the new name");
                const result = await assertNoChange(host, "reset of the old name", () => runReset(host, "cp1"));
                assert.match(result.stderr, /this host is node cp1-renamed now \(renamed in config\); not resetting it for cp1/);
                assert.ok(await host.exists("/etc/kubernetes/admin.conf"), "the control plane is still there");
                assert.equal(await host.readFile(MEMBER_FILE), "cp1-renamed\n");
            });
            await t.test("no record (a host set up before membership recorded it): reset as before", async () => {
                await host.check(`rm ${MEMBER_FILE}`);
                await host.clearCalls();
                expectSuccess(await runReset(host, "cp1"), "reset without a record");
                assert.deepEqual(
                    (await host.mutatingCalls()).filter((c) => c.tool === "kubeadm").map((c) => c.line),
                    ["kubeadm reset -f"],
                );
                assert.equal(await host.check("find /etc/kubernetes /var/lib/kubelet /var/lib/etcd ! -type d"), "");
                assert.equal(await host.readCluster("endpoint"), undefined);
            });
        });
    });
});
