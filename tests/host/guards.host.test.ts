/**
 * Guards of the generated scripts, run for real on simulated hosts: preflight's host checks, init's kube-proxy refusal,
 * ensure-token's clone detection and token handling, and prepare's version handling.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { preflightScript, prepareScript } from "../../components/kubeadm/scripts";
import {
    CLUSTER,
    diffSnapshots,
    ensureTokenInput,
    expectSuccess,
    hostTest,
    initialisedControlPlaneOptions,
    stageControlPlane,
    withHost,
    type SimHost,
    type SimHostOptions,
} from "./harness";

const CP_MACHINE_ID = initialisedControlPlaneOptions().machineId ?? "";

async function kubeadmCalls(host: SimHost): Promise<string[]> {
    return (await host.calls()).filter((c) => c.tool === "kubeadm").map((c) => c.line);
}

describe("preflight", { concurrency: 2 }, () => {
    const problems: readonly [string, SimHostOptions, RegExp][] = [
        ["an old kernel", { kernel: "5.4.0-150-generic" }, /kernel 5\.4\.0-150-generic is older than 5\.10, the minimum for Cilium 1\.18/],
        ["cgroup v1", { cgroup: "v1" }, /cgroup v2 is not mounted on \/sys\/fs\/cgroup \(found tmpfs\)/],
        ["one CPU", { cpus: 1 }, /1 CPU\(s\); a control plane needs at least 2/],
        ["1 GiB of memory", { memoryMiB: 1024 }, /1024 MiB of memory; a control plane needs at least 1700 MiB/],
        ["port 6443 in use", { listening: [22, 6443] }, /TCP port 6443 is already in use/],
        ["a malformed machine-id", { machineId: "uninitialized" }, /\/etc\/machine-id is missing or malformed/],
        ["hostname localhost", { hostname: "localhost" }, /hostname is 'localhost'/],
    ];

    for (const [what, options, message] of problems) {
        hostTest(`a control plane with ${what} fails preflight`, async () => {
            await withHost(options, async (host) => {
                stageControlPlane(host);
                const result = await host.runStaged("preflight.sh");
                assert.notEqual(result.status, 0);
                assert.match(result.stderr, message);
                assert.equal(result.stderr.match(/^ {2}- /gm)?.length, 1, `only this problem is reported:\n${result.stderr}`);
                assert.equal(result.stdout, "", "no identity is reported for a host that is not ready");
            });
        });
    }

    hostTest("preflight lists every problem of a host at once", async () => {
        await withHost(
            { kernel: "5.4.0-150-generic", cgroup: "v1", cpus: 1, memoryMiB: 1024, listening: [22, 6443, 2379], machineId: "" },
            async (host) => {
                stageControlPlane(host);
                const result = await host.runStaged("preflight.sh");
                assert.notEqual(result.status, 0);
                assert.match(result.stderr, /cp1 is not ready to be a Kubernetes control-plane:/);
                for (const [, , message] of problems.filter(([what]) => what !== "hostname localhost")) {
                    assert.match(result.stderr, message);
                }
                assert.match(result.stderr, /TCP port 2379 is already in use/);
                assert.equal(result.stderr.match(/^ {2}- /gm)?.length, 7, result.stderr);
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            },
        );
    });

    hostTest("preflight accepts the minimums (kernel 5.10, 2 CPUs, 1700 MiB)", async () => {
        await withHost({ kernel: "5.10.0-28-amd64", cpus: 2, memoryMiB: 1700 }, async (host) => {
            stageControlPlane(host);
            expectSuccess(await host.runStaged("preflight.sh"), "preflight");
        });
    });

    hostTest("a worker needs neither 2 CPUs nor 1700 MiB, and only port 10250 free", async () => {
        await withHost({ hostname: "w1", cpus: 1, memoryMiB: 1024, listening: [22, 6443] }, async (host) => {
            host.stage({ "preflight.sh": preflightScript({ role: "worker" }) });
            expectSuccess(await host.runStaged("preflight.sh"), "worker preflight");
        });
        await withHost({ hostname: "w1", listening: [10250] }, async (host) => {
            host.stage({ "preflight.sh": preflightScript({ role: "worker" }) });
            const result = await host.runStaged("preflight.sh");
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /TCP port 10250 is already in use/);
        });
    });

    hostTest("once the node has joined, its own ports no longer fail preflight", async () => {
        await withHost(
            { listening: [22, 6443, 10250], files: { "/etc/kubernetes/kubelet.conf": { content: "kind: Config\n", mode: 0o600 } } },
            async (host) => {
                stageControlPlane(host);
                expectSuccess(await host.runStaged("preflight.sh"), "preflight of a member");
            },
        );
    });
});

describe("init refuses kube-proxy", { concurrency: 2 }, () => {
    hostTest("init fails when kubeadm installed kube-proxy, and keeps failing on re-runs", async () => {
        await withHost({ state: { "kubeadm-installs-kube-proxy": "" } }, async (host) => {
            stageControlPlane(host);
            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            const first = await host.runStaged("init.sh");
            assert.notEqual(first.status, 0);
            assert.match(first.stderr, /kube-proxy DaemonSet ConfigMap found in kube-system/);
            await host.clearCalls();
            const again = await host.runStaged("init.sh");
            assert.notEqual(again.status, 0);
            assert.match(again.stderr, /kube-proxy DaemonSet ConfigMap found in kube-system/);
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [], "the re-run must not init again");
        });
    });

    for (const kind of ["DaemonSet", "ConfigMap"] as const) {
        hostTest(`init on an initialised control plane with only a kube-proxy ${kind} fails naming it`, async () => {
            const options = initialisedControlPlaneOptions();
            await withHost(
                { ...options, state: { ...options.state, [`cluster/objects/kube-system/${kind.toLowerCase()}/kube-proxy`]: "" } },
                async (host) => {
                    stageControlPlane(host);
                    const result = await host.runStaged("init.sh");
                    assert.notEqual(result.status, 0);
                    assert.match(result.stderr, new RegExp(`ERROR: kube-proxy ${kind} found in kube-system`));
                    assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
                },
            );
        });
    }

    hostTest("init on an initialised control plane without kube-proxy does nothing", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const result = expectSuccess(await host.runStaged("init.sh"), "init");
            assert.match(result.stderr, /already initialised/);
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
        });
    });
});

describe("ensure-token", { concurrency: 2 }, () => {
    const NEW_ID = "0123456789abcdef0123456789abcdef";

    hostTest("refuses a machine-id another node already has", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const result = await host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", CP_MACHINE_ID) });
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, new RegExp(`node cp1 already has machine-id ${CP_MACHINE_ID}, so w1 is a clone of it`));
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            assert.equal(await host.readState("cluster/tokens/abcdef"), undefined);
        });
    });

    hostTest("does nothing when the node is already a member", async () => {
        await withHost(initialisedControlPlaneOptions({ nodes: { w1: NEW_ID } }), async (host) => {
            stageControlPlane(host);
            const result = expectSuccess(
                await host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", NEW_ID) }),
                "ensure-token",
            );
            assert.match(result.stderr, /w1 is already a member of the cluster; no token needed/);
            assert.deepEqual(await kubeadmCalls(host), []);
        });
    });

    hostTest("creates the token with a short TTL when it is absent, without printing its secret", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const result = expectSuccess(
                await host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", NEW_ID) }),
                "ensure-token",
            );
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [
                `kubeadm token create ${CLUSTER.token} --ttl 1h --description homelab: join w1`,
            ]);
            assert.equal(
                await host.readState("cluster/tokens/abcdef"),
                "secret=0123456789abcdef\nttl=1h\ndescription=homelab: join w1\nexpired=no\n",
            );
            assert.match(result.stderr, /bootstrap token abcdef minted for w1 \(ttl 1h\)/);
            for (const output of [result.stdout, result.stderr]) assert.ok(!output.includes("0123456789abcdef"), "secret leaked");
        });
    });

    hostTest("tolerates a concurrent join creating the same token first", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            // Another join's ensure-token creates the token right before this one's `kubeadm token create`.
            await host.hook(
                "kubeadm-token-create",
                `mkdir -p "$SIM_CLUSTER/tokens"\nprintf 'secret=0123456789abcdef\\nttl=1h\\ndescription=homelab: join w2\\nexpired=no\\n' >"$SIM_CLUSTER/tokens/abcdef"\n`,
            );
            const result = expectSuccess(
                await host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", NEW_ID) }),
                "ensure-token",
            );
            assert.match(result.stderr, /minted for w1/);
            assert.ok((await kubeadmCalls(host)).some((line) => line.startsWith("kubeadm token create")));
        });
    });

    hostTest("fails when the token cannot be created", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            await host.injectFault("kubeadm-token-create");
            const result = await host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", NEW_ID) });
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /kubeadm token create failed on the control plane/);
        });
    });

    hostTest("replaces an expired token and keeps a valid one", async () => {
        const options = initialisedControlPlaneOptions();
        await withHost(
            {
                ...options,
                state: {
                    ...options.state,
                    "cluster/tokens/abcdef": "secret=0123456789abcdef\nttl=1h\ndescription=old\nexpired=yes\n",
                },
            },
            async (host) => {
                stageControlPlane(host);
                const stdin = ensureTokenInput("w1", NEW_ID);
                expectSuccess(await host.runStaged("ensure-token.sh", [], { stdin }), "ensure-token");
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [
                    "kubeadm token delete abcdef",
                    `kubeadm token create ${CLUSTER.token} --ttl 1h --description homelab: join w1`,
                ]);
                assert.match((await host.readState("cluster/tokens/abcdef")) ?? "", /^expired=no$/m);
                await host.clearCalls();
                const again = expectSuccess(await host.runStaged("ensure-token.sh", [], { stdin }), "ensure-token again");
                assert.match(again.stderr, /bootstrap token abcdef is valid/);
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            },
        );
    });

    hostTest("rejects stdin that does not start with a bootstrap token", async () => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const result = await host.runStaged("ensure-token.sh", [], { stdin: "not-a-token\nw1\nx\n" });
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /stdin did not start with a bootstrap token/);
            assert.deepEqual(await host.calls(), []);
        });
    });
});

describe("prepare and the Kubernetes version", { concurrency: 2 }, () => {
    hostTest("a new patch or minor moves the held packages and re-holds them; a downgrade works too", async () => {
        await withHost({}, async (host) => {
            const prepareFor = async (version: string): Promise<string[]> => {
                host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: version }) });
                await host.clearCalls();
                expectSuccess(await host.runStaged("prepare.sh"), `prepare ${version}`);
                for (const pkg of ["kubelet", "kubeadm", "kubectl"]) {
                    assert.equal(await host.readState(`dpkg/${pkg}`), `${version}-1.1 installed\n`, `${pkg} after ${version}`);
                }
                assert.equal(await host.check("apt-mark showhold"), "kubeadm\nkubectl\nkubelet\n");
                return (await host.mutatingCalls()).map((c) => c.line);
            };
            await prepareFor("1.33.9");
            const upgrade = await prepareFor("1.33.10");
            assert.deepEqual(upgrade.slice(0, 5), [
                "apt-get update -q",
                "apt-mark unhold kubelet",
                "apt-mark unhold kubeadm",
                "apt-mark unhold kubectl",
                "apt-get install -y -q --allow-downgrades kubelet=1.33.10-1.1 kubeadm=1.33.10-1.1 kubectl=1.33.10-1.1",
            ]);
            await prepareFor("1.33.9");
            await prepareFor("1.34.2");
            assert.equal(
                await host.readFile("/etc/apt/sources.list.d/kubernetes.list"),
                "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n",
            );
        });
    });

    hostTest("a host whose admin holds containerd is prepared once, then left alone", async () => {
        await withHost(
            {
                packages: { "ca-certificates": "20230311", containerd: "1.7.24~ds1-1" },
                state: {
                    "apt/holds": "containerd\n",
                    "units/containerd.enabled": "",
                    "units/containerd.active": "config=builtin-default systemd_cgroup=false sandbox=registry.k8s.io/pause:3.8\n",
                },
            },
            async (host) => {
                stageControlPlane(host);
                expectSuccess(await host.runStaged("prepare.sh"), "prepare");
                assert.equal(await host.readState("dpkg/containerd"), "1.7.24~ds1-1 installed\n");
                const before = await host.snapshot();
                await host.clearCalls();
                expectSuccess(await host.runStaged("prepare.sh"), "prepare again");
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
                assert.deepEqual(diffSnapshots(before, await host.snapshot()), []);
            },
        );
    });

    hostTest("a node that has joined refuses a version change instead of swapping packages under it", async () => {
        await withHost({}, async (host) => {
            host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: "1.33.9" }) });
            expectSuccess(await host.runStaged("prepare.sh"), "prepare 1.33.9");
            await host.writeFile("/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n");
            host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: "1.33.10" }) });
            await host.clearCalls();
            const result = await host.runStaged("prepare.sh");
            assert.notEqual(result.status, 0);
            assert.match(
                result.stderr,
                /kubernetesVersion is 1\.33\.10 but this node already runs Kubernetes 1\.33\.9: this program does not upgrade live nodes yet; set kubernetesVersion back to 1\.33\.9/,
            );
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            assert.equal(await host.readState("dpkg/kubeadm"), "1.33.9-1.1 installed\n");
        });
    });

    hostTest("Docker's containerd.io is used as it is, never replaced by Debian's containerd", async () => {
        await withHost({ packages: { "containerd.io": "1.7.27-1" } }, async (host) => {
            stageControlPlane(host);
            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            assert.equal(await host.readState("dpkg/containerd"), undefined);
            const installs = (await host.mutatingCalls()).filter((c) => c.tool === "apt-get" && c.args[0] === "install");
            assert.ok(installs.length > 0, "prepare still installs the other packages");
            for (const call of installs) {
                assert.equal(call.args.includes("containerd"), false, call.line);
            }
            assert.match(await host.readFile("/etc/containerd/config.toml"), /SystemdCgroup = true/);
        });
    });

    hostTest("a patch that is not in the repository fails with a clear message and installs nothing", async () => {
        await withHost({}, async (host) => {
            host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: "1.33.99" }) });
            const result = await host.runStaged("prepare.sh");
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /kubeadm 1\.33\.99 is not in https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb\/: set kubernetesVersion/);
            assert.equal(await host.readState("dpkg/kubeadm"), undefined);
        });
    });
});
