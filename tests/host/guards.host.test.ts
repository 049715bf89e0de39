/**
 * Guards of the generated scripts, run for real on simulated hosts: preflight's host checks, init's refusals (kube-proxy,
 * cluster-wide settings changed since init, kubeadm state it did not make, an API server that does not answer),
 * ensure-token's clone detection and token handling, and prepare's version, module and containerd handling.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { preflightScript, prepareScript } from "../../components/kubeadm/scripts";
import {
    CLUSTER,
    CONTROL_PLANE_TAINT,
    diffSnapshots,
    ensureTokenInput,
    expectSuccess,
    hostTest,
    initialisedControlPlaneOptions,
    runMembership,
    stageControlPlane,
    stageWorker,
    withHost,
    type ClusterOverrides,
    type RunResult,
    type SimHost,
    type SimHostOptions,
} from "./harness";

const CP_MACHINE_ID = initialisedControlPlaneOptions().machineId ?? "";

async function kubeadmCalls(host: SimHost): Promise<string[]> {
    return (await host.calls()).filter((c) => c.tool === "kubeadm").map((c) => c.line);
}

/** Runs a step that must fail: asserts a non-zero exit, the message, and that nothing on the host changed. */
async function assertRefused(host: SimHost, what: string, run: () => Promise<RunResult>, message: RegExp): Promise<RunResult> {
    const before = await host.snapshot();
    await host.clearCalls();
    const result = await run();
    assert.notEqual(result.status, 0, `${what} succeeded:\n${result.stderr}`);
    assert.match(result.stderr, message, what);
    assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [], `${what} made mutating calls`);
    assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], `${what} changed the host`);
    return result;
}

/** The `key = value` lines of one TOML table (up to the next table header), header given exactly as written. */
function tomlTable(toml: string, header: string): string[] {
    const lines = toml.split("\n");
    const start = lines.findIndex((line) => line.trim() === header);
    if (start < 0) return [];
    const end = lines.findIndex((line, i) => i > start && /^\s*\[/.test(line));
    return lines
        .slice(start + 1, end < 0 ? undefined : end)
        .map((line) => line.trim())
        .filter((line) => line !== "");
}

/** A host with the Kubernetes packages installed and swap off, as prepare leaves it (without running prepare). */
const PREPARED: SimHostOptions = {
    swap: false,
    packages: { "ca-certificates": "20230311", kubeadm: "1.33.10-1.1", kubectl: "1.33.10-1.1", kubelet: "1.33.10-1.1" },
};

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

describe("init and join refuse what they must not touch", { concurrency: 2 }, () => {
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

    const drifts: readonly [Exclude<keyof ClusterOverrides, "schedulableControlPlane">, string, string][] = [
        ["clusterName", CLUSTER.clusterName, "lab2"],
        ["controlPlaneEndpoint", CLUSTER.controlPlaneEndpoint, "k8s2.lab.internal:6443"],
        ["podSubnet", CLUSTER.podSubnet, "10.42.0.0/16"],
        ["serviceSubnet", CLUSTER.serviceSubnet, "10.43.0.0/16"],
    ];
    const escape = (value: string): string => value.replace(/\./g, "\\.");
    const driftMessage = (key: string, have: string, want: string): RegExp =>
        new RegExp(`ERROR: ${key} is '${escape(have)}' in the running cluster but '${escape(want)}' in the stack config`);

    hostTest("refuses a cluster-wide setting that changed since kubeadm init, naming the key and both values", async (t) => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            for (const [key, have, want] of drifts) {
                await t.test(key, async () => {
                    stageControlPlane(host, "cp1", CLUSTER.token, { [key]: want });
                    const result = await assertRefused(
                        host,
                        `init with ${key} changed`,
                        () => host.runStaged("init.sh"),
                        driftMessage(key, have, want),
                    );
                    assert.match(result.stderr, /kubeadm applies these only when a cluster is created/);
                    const reported = result.stderr.match(/ in the running cluster but /g)?.length;
                    assert.equal(reported, 1, `only ${key} is reported:\n${result.stderr}`);
                });
            }
            await t.test("all four at once are all reported", async () => {
                stageControlPlane(host, "cp1", CLUSTER.token, Object.fromEntries(drifts.map(([key, , want]) => [key, want])));
                const result = await assertRefused(
                    host,
                    "init with every setting changed",
                    () => host.runStaged("init.sh"),
                    /ERROR: clusterName /,
                );
                for (const [key, have, want] of drifts) assert.match(result.stderr, driftMessage(key, have, want));
            });
            await t.test("back to the settings the cluster has, init succeeds without a change", async () => {
                stageControlPlane(host);
                await host.clearCalls();
                expectSuccess(await host.runStaged("init.sh"), "init");
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            });
        });
    });

    hostTest("fails closed when kubectl cannot answer, before changing anything", async (t) => {
        // The node carries the control-plane taint and the stack now says schedulable: a run that got past the
        // failed query would remove it.
        await withHost(initialisedControlPlaneOptions({ schedulableControlPlane: false }), async (host) => {
            stageControlPlane(host);
            const faults: readonly [string, string, RegExp][] = [
                [
                    "the kubeadm-config read",
                    "get configmap kubeadm-config",
                    /cannot read the kubeadm-config ConfigMap to compare it with the stack config/,
                ],
                ["the taint read", "get node cp1", /cannot read node cp1's taints/],
            ];
            for (const [what, pattern, message] of faults) {
                await t.test(what, async () => {
                    await host.clearFaults();
                    await host.injectFault("kubectl", pattern);
                    await assertRefused(host, `init with ${what} failing`, () => host.runStaged("init.sh"), message);
                    assert.equal(await host.readCluster("taints/cp1"), `${CONTROL_PLANE_TAINT}:NoSchedule\n`);
                });
            }
            await host.clearFaults();
            await host.clearCalls();
            expectSuccess(await host.runStaged("init.sh"), "init without faults");
            assert.equal((await host.mutatingCalls()).length, 1, "the taint is removed once kubectl answers");
            for (const kind of ["DaemonSet", "ConfigMap"]) {
                await t.test(`the kube-proxy ${kind} query`, async () => {
                    await host.clearFaults();
                    await host.injectFault("kubectl", `get ${kind.toLowerCase()} kube-proxy`);
                    await assertRefused(
                        host,
                        `init with the kube-proxy ${kind} query failing`,
                        () => host.runStaged("init.sh"),
                        new RegExp(`cannot ask the API server whether a kube-proxy ${kind} exists`),
                    );
                });
            }
        });
    });

    const REFUSED = /found kubeadm state on this host but not /;
    const leftovers: readonly [string, string, string][] = [
        ["init", "/etc/kubernetes/manifests/kube-apiserver.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n"],
        ["init", "/var/lib/etcd/member/snap/db", "etcd data\n"],
        ["join", "/etc/kubernetes/bootstrap-kubelet.conf", "apiVersion: v1\nkind: Config\n"],
    ];
    for (const [verb, file, content] of leftovers) {
        hostTest(`${verb} refuses a host with a leftover ${file} and never rolls it back`, async () => {
            await withHost({ ...PREPARED, hostname: verb === "init" ? "cp1" : "w1", files: { [file]: content } }, async (host) => {
                if (verb === "init") stageControlPlane(host);
                else stageWorker(host, "w1", `sha256:${"0".repeat(64)}`);
                const what = `${verb} over a leftover ${file}`;
                const result = await assertRefused(host, what, () => host.runStaged(`${verb}.sh`), REFUSED);
                const marker = verb === "init" ? "/etc/kubernetes/admin.conf" : "/etc/kubernetes/kubelet.conf";
                assert.ok(result.stderr.includes(`found kubeadm state on this host but not ${marker}`), result.stderr);
                assert.deepEqual(await kubeadmCalls(host), [], "neither kubeadm init/join nor kubeadm reset ran");
                assert.equal(await host.readFile(file), content);
            });
        });
    }
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

    hostTest("rejects stdin without a bootstrap token first, or without the joining node", async (t) => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const cases: readonly [string, string, RegExp][] = [
                ["something else than a token", "not-a-token\nw1\nx\n", /stdin did not start with a bootstrap token/],
                ["empty stdin", "", /stdin did not start with a bootstrap token/],
                ["a token but no node line", `${CLUSTER.token}\n`, /stdin did not name the joining node/],
            ];
            for (const [what, stdin, message] of cases) {
                await t.test(what, async () => {
                    await host.clearCalls();
                    const result = await host.runStaged("ensure-token.sh", [], { stdin });
                    assert.notEqual(result.status, 0);
                    assert.match(result.stderr, message);
                    assert.deepEqual(await host.calls(), [], "nothing is asked or minted");
                });
            }
        });
    });

    hostTest("fails closed, minting no token, when kubectl cannot answer", async (t) => {
        await withHost(initialisedControlPlaneOptions(), async (host) => {
            stageControlPlane(host);
            const faults: readonly [string, string, RegExp][] = [
                ["the member query", "get node w1", /cannot ask the API server about node w1/],
                ["the node list", "get nodes", /cannot list the cluster's nodes to rule out a cloned machine-id/],
            ];
            for (const [what, pattern, message] of faults) {
                await t.test(what, async () => {
                    await host.clearFaults();
                    await host.injectFault("kubectl", pattern);
                    await assertRefused(host, `ensure-token with ${what} failing`, () =>
                        host.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", NEW_ID) }), message);
                    assert.deepEqual(await kubeadmCalls(host), [], "no token is looked at or minted");
                    assert.equal(await host.readCluster("tokens/abcdef"), undefined);
                });
            }
        });
    });
});

describe("prepare: Kubernetes version, kernel modules, containerd", { concurrency: 2 }, () => {
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

    hostTest("a node that has joined leaves its packages and repository to the upgrade steps on a version change", async () => {
        await withHost({}, async (host) => {
            host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: "1.33.9" }) });
            expectSuccess(await host.runStaged("prepare.sh"), "prepare 1.33.9");
            await host.writeFile("/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n");
            const before = await host.snapshot();
            for (const version of ["1.33.10", "1.34.2", "1.33.5"]) {
                host.stage({ "prepare.sh": prepareScript({ kubernetesVersion: version }) });
                await host.clearCalls();
                const result = expectSuccess(await host.runStaged("prepare.sh"), `prepare ${version}`);
                assert.match(result.stderr, new RegExp(`this node runs Kubernetes 1\\.33\\.9; its packages stay until the upgrade steps move it to ${version.replace(/\./g, "\\.")}`));
                assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [], version);
                assert.deepEqual(diffSnapshots(before, await host.snapshot(), { ignore: [/^home:\/\.homelab\/prepare\.sh$/] }), [], version);
            }
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

    hostTest("a module built into the kernel is not loaded again; the others are", async () => {
        await withHost({ builtinModules: ["overlay"] }, async (host) => {
            stageControlPlane(host);
            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            assert.deepEqual(
                (await host.calls()).filter((c) => c.tool === "modprobe").map((c) => c.line),
                ["modprobe br_netfilter"],
            );
            const modules = await host.readFile("/proc/modules");
            assert.doesNotMatch(modules, /^overlay /m, "a built-in module never shows in /proc/modules");
            assert.match(modules, /^br_netfilter /m);
            assert.equal(await host.readState("sysctl/net.bridge.bridge-nf-call-iptables"), "1\n");
            const before = await host.snapshot();
            await host.clearCalls();
            expectSuccess(await host.runStaged("prepare.sh"), "prepare again");
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            assert.deepEqual(diffSnapshots(before, await host.snapshot()), []);
        });
    });

    hostTest("a containerd config that cannot be written fails prepare, leaving no partial file; with room, a re-run writes it", async () => {
        await withHost({}, async (host) => {
            stageControlPlane(host);
            // A full file system: /etc/containerd has room for 4 KiB, less than containerd's default config.
            await host.check("mkdir -p /etc/containerd && mount -t tmpfs -o size=4k sim-full /etc/containerd");
            const failed = await host.runStaged("prepare.sh");
            assert.notEqual(failed.status, 0, `prepare reported success:\n${failed.stderr}`);
            assert.match(failed.stderr, /No space left on device/);
            assert.doesNotMatch(failed.stderr, /wrote \/etc\/containerd\/config\.toml/);
            assert.equal(await host.check("ls -A /etc/containerd"), "", "a partial config or temporary file was left");
            assert.deepEqual(
                (await host.calls()).filter((c) => c.tool === "systemctl" && c.args[0] === "restart").map((c) => c.line),
                [],
                "containerd was restarted although its config was not written",
            );

            await host.check("umount /etc/containerd");
            expectSuccess(await host.runStaged("prepare.sh"), "prepare with room");
            assert.match(await host.readFile("/etc/containerd/config.toml"), /^\s+SystemdCgroup = true$/m);
            assert.match((await host.readState("units/containerd.active")) ?? "", / systemd_cgroup=true /);
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

    const RUNC_OPTIONS = "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]";
    const PINNED_IMAGES = "[plugins.'io.containerd.cri.v1.images'.pinned_images]";
    /** Docker's containerd.io 2.1, installed and running with its built-in defaults before prepare. */
    const CONTAINERD_21: SimHostOptions = {
        containerdSeries: "2.1",
        packages: { "ca-certificates": "20230311", "containerd.io": "2.1.4-1" },
        state: {
            "units/containerd.enabled": "",
            "units/containerd.active": "config=builtin-default systemd_cgroup=false sandbox=registry.k8s.io/pause:3.10\n",
        },
    };

    hostTest("prepare turns on SystemdCgroup in runc's options although containerd 2.1 prints none; init works", async () => {
        await withHost(CONTAINERD_21, async (host) => {
            stageControlPlane(host);
            const defaults = await host.check("containerd config default");
            const defaultOptions = tomlTable(defaults, RUNC_OPTIONS);
            assert.ok(defaultOptions.includes("ShimCgroup = ''"), "runc's options table is in the default");
            assert.deepEqual(defaultOptions.filter((l) => l.startsWith("SystemdCgroup")), [], "the 2.1 default has no SystemdCgroup");

            expectSuccess(await host.runStaged("prepare.sh"), "prepare");
            const config = await host.readFile("/etc/containerd/config.toml");
            assert.match(config, /^version = 3$/m, "the file keeps containerd 2's config format");
            assert.ok(tomlTable(config, RUNC_OPTIONS).includes("SystemdCgroup = true"), `no SystemdCgroup in runc's options:\n${config}`);
            assert.equal(config.match(/SystemdCgroup/g)?.length, 1, "only in runc's options");
            const images = await host.check(`kubeadm config images list --kubernetes-version v${CLUSTER.kubernetesVersion}`);
            const pause = images.split("\n").find((image) => image.includes("/pause:")) ?? "";
            assert.deepEqual(tomlTable(config, PINNED_IMAGES), [`sandbox = '${pause}'`]);
            assert.equal(await host.readState("dpkg/containerd"), undefined, "Docker's containerd.io is kept");
            // What the restarted containerd runs with.
            const running = (await host.readState("units/containerd.active")) ?? "";
            assert.match(running, / systemd_cgroup=true sandbox=registry\.k8s\.io\/pause:3\.10$/m);

            expectSuccess(await runMembership(host, "cp1"), "membership");
            expectSuccess(await host.runStaged("init.sh"), "init on containerd 2.1");
            assert.ok(await host.exists("/etc/kubernetes/admin.conf"));
            assert.doesNotMatch(await host.readFile("/var/log/homelab/init.log"), /inconsistent with that used by kubeadm/);

            const before = await host.snapshot();
            await host.clearCalls();
            expectSuccess(await host.runStaged("prepare.sh"), "prepare again");
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), []);
            assert.deepEqual(diffSnapshots(before, await host.snapshot()), []);
        });
    });

    hostTest("the containerd stub reads SystemdCgroup by table and config version, as containerd does", async () => {
        await withHost(CONTAINERD_21, async (host) => {
            const loaded = async (toml: string): Promise<string> => {
                await host.writeFile("/etc/containerd/config.toml", toml);
                await host.check("systemctl restart containerd");
                return (await host.readState("units/containerd.active")) ?? "";
            };
            const runcOptions = (version: 2 | 3, plugin: string): string =>
                `version = ${version}\n\n[plugins]\n  [plugins.${plugin}.containerd.runtimes.runc.options]\n    SystemdCgroup = true\n`;
            const V2_CRI = `"io.containerd.grpc.v1.cri"`;
            const V3_CRI = `'io.containerd.cri.v1.runtime'`;
            assert.match(await loaded(runcOptions(3, V3_CRI)), /systemd_cgroup=true/);
            assert.match(await loaded(runcOptions(2, V2_CRI)), /systemd_cgroup=true sandbox=registry\.k8s\.io\/pause:3\.10$/m);
            // containerd 1.x's CRI plugin table in a version 3 file is not where containerd 2 looks.
            assert.match(await loaded(runcOptions(3, V2_CRI)), /systemd_cgroup=false/);
            // Elsewhere than in runc's options, SystemdCgroup configures nothing.
            assert.match(await loaded(`version = 3\n[plugins.${V3_CRI}]\n  SystemdCgroup = true\n`), /systemd_cgroup=false/);
        });
    });
});
