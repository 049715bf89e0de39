/**
 * HA control planes and nodes leaving, on simulated hosts sharing one cluster: the primary's init with kube-vip and
 * uploaded certificates, control planes joining with --control-plane after a fresh upload, the leave step (drain, etcd
 * member, Node) on the primary and the reset with Cilium's datapath cleanup on the node; first run, re-run (no change),
 * a failure then a re-run (converges), and hosts that can be used again afterwards.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import {
    bootControlPlane,
    bootControlPlaneJoin,
    bootWorker,
    CLUSTER,
    diffSnapshots,
    expectSuccess,
    HOST_IPTABLES,
    hostTest,
    KUBE_VIP,
    readCaCertHash,
    runLeave,
    runMembership,
    runReset,
    SimCluster,
    SimHost,
    stageControlPlane,
    stageControlPlaneJoin,
    stageWorker,
    ensureTokenInput,
    machineIdFrom,
    withHosts,
    writeCiliumDatapath,
    type RunResult,
    type SimHostOptions,
} from "./harness";
import { snapshotInstallScript, snapshotToolScript } from "../../components/etcd";
import { API_WAIT_SECONDS, KUBE_VIP_SETTLE_SECONDS } from "../../components/kubeadm/scripts";

const MANIFEST = "/etc/kubernetes/manifests/kube-vip.yaml";
const SNAPSHOT_DIR = "/var/lib/homelab/etcd-snapshots";

/** Re-runs a step and asserts it made no mutating call and left every file and every bit of state as it was. */
async function assertNoChange(hosts: readonly SimHost[], what: string, run: () => Promise<RunResult>): Promise<RunResult> {
    const before = await Promise.all(hosts.map((h) => h.snapshot()));
    await Promise.all(hosts.map((h) => h.clearCalls()));
    const result = expectSuccess(await run(), `second run of ${what}`);
    for (const [i, host] of hosts.entries()) {
        assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [], `second run of ${what} made mutating calls`);
        assert.deepEqual(diffSnapshots(before[i], await host.snapshot()), [], `second run of ${what} changed the host`);
    }
    return result;
}

/** Runs `fn` with fresh hosts named as given, all in one simulated cluster. */
async function withCluster(names: readonly string[], fn: (hosts: SimHost[], cluster: SimCluster) => Promise<void>, extra: Partial<SimHostOptions> = {}): Promise<void> {
    const cluster = new SimCluster();
    try {
        await withHosts(
            names.map((hostname, i) => ({ hostname, cluster, machineId: `${(i + 1).toString(16).padStart(2, "0")}${"5e".repeat(15)}`, ...extra })),
            async (hosts) => fn(hosts, cluster),
        );
    } finally {
        cluster.dispose();
    }
}

/**
 * Takes the cluster's endpoint away (kube-vip restarting, or the virtual IP moving) until a script has waited `waits`
 * times (`sleep`); with `when`, only from the first call of that stub (`TOOL-OP`) on, once.
 */
async function endpointAway(host: SimHost, waits: number, when?: string): Promise<void> {
    const away = 'mv "$SIM_CLUSTER/endpoint" "$SIM_STATE/endpoint-away"';
    if (when) {
        await host.hook(when, `[ -e "$SIM_STATE/endpoint-dropped" ] || { touch "$SIM_STATE/endpoint-dropped"; ${away}; }\n`);
    } else {
        await host.check(away);
    }
    await host.hook(
        "sleep-wait",
        `n=$(( $(cat "$SIM_STATE/waits" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$SIM_STATE/waits"\n` +
            `if [ "$n" -ge ${waits} ] && [ -e "$SIM_STATE/endpoint-away" ]; then mv "$SIM_STATE/endpoint-away" "$SIM_CLUSTER/endpoint"; fi\n`,
    );
}

/** How many times the host's scripts waited (`sleep`) since its calls were last cleared. */
async function waits(host: SimHost): Promise<number> {
    return (await host.calls()).filter((c) => c.tool === "sleep").length;
}

/** Lines of the cluster's etcd member list (NAME), sorted. */
async function etcdMembers(host: SimHost): Promise<string[]> {
    return (await host.check('ls "$SIM_CLUSTER/etcd" 2>/dev/null || true')).split("\n").filter(Boolean).sort();
}

describe("HA control plane", { concurrency: 2 }, () => {
    hostTest("three control planes: init with kube-vip and uploaded certificates, then two --control-plane joins", async () => {
        await withCluster(["cp1", "cp2", "cp3"], async ([cp1, cp2, cp3]) => {
            // What kube-vip mounts at the moment kubeadm init runs (the hook runs right before the stub handles it).
            await cp1.hook("kubeadm-init", `cp ${MANIFEST} "$SIM_STATE/kube-vip-during-init.yaml"`);
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            const during = await cp1.check('cat "$SIM_STATE/kube-vip-during-init.yaml"');
            assert.match(during, /path: \/etc\/kubernetes\/super-admin\.conf/, "during init: super-admin.conf");
            const after = await cp1.readFile(MANIFEST);
            assert.match(after, /path: \/etc\/kubernetes\/admin\.conf/, "after init: admin.conf");
            assert.doesNotMatch(after, /super-admin/);
            assert.match(after, /value: 10\.0\.0\.100/);
            assert.equal(await cp1.check(`stat -c %a ${MANIFEST}`), "600\n");
            const init = (await cp1.mutatingCalls()).filter((c) => c.tool === "kubeadm").map((c) => c.line);
            assert.deepEqual(init, ["kubeadm init --config .homelab/kubeadm-init.yaml --upload-certs"]);
            assert.match((await cp1.readCluster("kubeadm-certs")) ?? "", new RegExp(`key=${CLUSTER.certificateKey}`));

            for (const [host, name] of [[cp2, "cp2"], [cp3, "cp3"]] as const) {
                await cp1.clearCalls();
                await bootControlPlaneJoin(cp1, host, name, { kubeVip: KUBE_VIP });
                // The primary uploaded the certificates again for this join, from the staged config (no key in argv); the
                // bootstrap token init created is still valid, so ensure-token only confirms it.
                assert.deepEqual(
                    (await cp1.mutatingCalls()).filter((c) => c.tool === "kubeadm").map((c) => c.line),
                    ["kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config .homelab/kubeadm-init.yaml"],
                );
                assert.ok(await host.exists("/etc/kubernetes/admin.conf"), "a control plane gets admin.conf");
                assert.equal(await host.exists("/etc/kubernetes/super-admin.conf"), false, "only init writes super-admin.conf");
                assert.match(await host.readFile(MANIFEST), /path: \/etc\/kubernetes\/admin\.conf/);
                assert.doesNotMatch(await host.readFile(MANIFEST), /super-admin/);
            }
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2", "cp3"]);
            for (const name of ["cp2", "cp3"]) {
                assert.match((await cp1.readCluster(`nodes/${name}`)) ?? "", / Ready$/m);
            }
            // No upload log leaks the key: kubeadm's output stays in the root-only log, and the key is not printed.
            assert.doesNotMatch(await cp1.readFile("/var/log/homelab/upload-certs.log"), new RegExp(CLUSTER.certificateKey));

            // Second run of every step changes nothing anywhere.
            await assertNoChange([cp1], "init.sh", () => cp1.runStaged("init.sh"));
            await assertNoChange([cp1, cp2], "upload-certs.sh for a member", () => cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" }));
            await assertNoChange([cp2], "join.sh (control plane)", () => cp2.runStaged("join.sh"));
            await assertNoChange([cp3], "join.sh (control plane)", () => cp3.runStaged("join.sh"));
        });
    });

    hostTest("the super-admin → admin switch converges after a run stopped right after kubeadm init, then changes nothing", async () => {
        await withCluster(["cp1"], async ([cp1]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            const admin = await cp1.readFile(MANIFEST);
            // As if the run had stopped between kubeadm init and the switch.
            await cp1.check(`sed -i 's#/etc/kubernetes/admin.conf$#/etc/kubernetes/super-admin.conf#' ${MANIFEST}`);
            assert.match(await cp1.readFile(MANIFEST), /path: \/etc\/kubernetes\/super-admin\.conf/);
            await cp1.clearCalls();
            const rerun = expectSuccess(await cp1.runStaged("init.sh"), "init.sh re-run");
            assert.match(rerun.stderr, /wrote \/etc\/kubernetes\/manifests\/kube-vip\.yaml/);
            assert.equal(await cp1.readFile(MANIFEST), admin);
            assert.deepEqual((await cp1.mutatingCalls()).filter((c) => c.tool === "kubeadm"), [], "no second init");
            // The switch restarts kube-vip: init waits until the kubelet has done so and the VIP answers again.
            const lines = (await cp1.calls()).map((c) => c.line);
            const settle = lines.indexOf(`sleep ${KUBE_VIP_SETTLE_SECONDS}`);
            assert.ok(settle >= 0, lines.join("\n"));
            assert.equal(lines[settle + 1], "kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw=/readyz");
            await cp1.clearCalls();
            await assertNoChange([cp1], "init.sh after the switch", () => cp1.runStaged("init.sh"));
            assert.equal(await waits(cp1), 0, "an unchanged manifest restarts nothing, so nothing to wait for");
        });
    });

    hostTest("a failed init takes kube-vip's manifest with its rollback; the re-run writes it again and initialises", async () => {
        await withCluster(["cp1"], async ([cp1]) => {
            stageControlPlane(cp1, "cp1", CLUSTER.token, { kubeVip: KUBE_VIP });
            for (const script of ["preflight.sh", "prepare.sh"]) expectSuccess(await cp1.runStaged(script), script);
            expectSuccess(await runMembership(cp1, "cp1"), "membership");
            await cp1.injectFault("kubeadm-init");
            assert.notEqual((await cp1.runStaged("init.sh")).status, 0);
            assert.equal(await cp1.exists(MANIFEST), false, "kubeadm reset emptied the manifests directory");
            await cp1.clearFaults();
            expectSuccess(await cp1.runStaged("init.sh"), "init.sh after the failure");
            assert.match(await cp1.readFile(MANIFEST), /path: \/etc\/kubernetes\/admin\.conf/);
            assert.deepEqual(await etcdMembers(cp1), ["cp1"]);
        });
    });

    hostTest("uploaded certificates expire after two hours: the join fails saying so; upload-certs then join converges", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1);
            // Two hours later kubeadm has deleted the kubeadm-certs Secret.
            await cp1.check('sed -i "s/^expired=no$/expired=yes/" "$SIM_CLUSTER/kubeadm-certs"');
            stageControlPlaneJoin(cp2, "cp2", await readCaCertHash(cp1));
            const preflight = expectSuccess(await cp2.runStaged("preflight.sh"), "preflight");
            expectSuccess(await cp2.runStaged("prepare.sh"), "prepare");
            expectSuccess(await runMembership(cp2, "cp2"), "membership");
            const machineId = /^machine-id=(.*)$/m.exec(preflight.stdout)?.[1] ?? "";
            expectSuccess(await cp1.runStaged("ensure-token.sh", [], { stdin: `${CLUSTER.token}\ncp2\n${machineId}\n` }), "ensure-token");
            const failed = await cp2.runStaged("join.sh");
            assert.notEqual(failed.status, 0);
            assert.match(failed.stderr, /This Secret might have expired/);
            assert.match(failed.stderr, /pulumi up --replace on this node's upload-certs and join-token resources/);
            assert.equal(await cp2.exists("/etc/kubernetes/kubelet.conf"), false, "the failed join was rolled back");
            // The program's order: upload-certs (right before the join), then the join again.
            expectSuccess(await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" }), "upload-certs");
            expectSuccess(await cp2.runStaged("join.sh"), "join after a fresh upload");
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"]);
        });
    });

    hostTest("upload-certs refuses bad stdin and an uninitialised primary, and fails when kubeadm does", async () => {
        await withCluster(["cp1"], async ([cp1]) => {
            stageControlPlane(cp1);
            const empty = await cp1.runStaged("upload-certs.sh", [], { stdin: "" });
            assert.match(empty.stderr, /stdin did not name the joining control plane/);
            const notInit = await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" });
            assert.match(notInit.stderr, /admin\.conf is missing: this control plane is not initialised/);
            await bootControlPlane(cp1);
            await cp1.injectFault("kubeadm-init-phase");
            const failed = await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" });
            assert.notEqual(failed.status, 0);
            assert.match(failed.stderr, /kubeadm init phase upload-certs failed \(full log: \/var\/log\/homelab\/upload-certs\.log\)/);
            await cp1.clearFaults();
            expectSuccess(await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" }), "upload-certs after the failure");
        });
    });

    hostTest("the endpoint away for seconds right after init (kube-vip restarting on admin.conf): the join's primary-side steps wait for it", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await endpointAway(cp1, 3);
            await cp1.clearCalls();
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            assert.equal(await waits(cp1), 3, "upload-certs waited three times, then went on");
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"]);
            assert.match((await cp1.readCluster("nodes/cp2")) ?? "", / Ready$/m);
        });
    });

    hostTest("the endpoint dropping in the middle of a step: the failed call is made again once the API server answers", async () => {
        await withCluster(["cp1", "w1"], async ([cp1, w1]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            stageWorker(w1, "w1", await readCaCertHash(cp1));
            const preflight = expectSuccess(await w1.runStaged("preflight.sh"), "preflight");
            expectSuccess(await w1.runStaged("prepare.sh"), "prepare");
            expectSuccess(await runMembership(w1, "w1"), "membership");
            // A fresh token is needed (the one init made expired), and the endpoint goes away right at its creation.
            await cp1.check(`sed -i 's/^expired=no$/expired=yes/' "$SIM_CLUSTER/tokens/${CLUSTER.token.split(".")[0]}"`);
            await endpointAway(cp1, 2, "kubeadm-token-create");
            await cp1.clearCalls();
            const token = expectSuccess(
                await cp1.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput("w1", machineIdFrom(preflight.stdout)) }),
                "ensure-token",
            );
            assert.match(token.stderr, /create_token failed while the API server was not answering \(attempt 1 of 3\); waiting for it/);
            assert.equal((await cp1.mutatingCalls()).filter((c) => c.line.startsWith("kubeadm token create")).length, 2);
            expectSuccess(await w1.runStaged("join.sh"), "join with the token made on the second attempt");
        });
    });

    hostTest("the endpoint that never comes back: the step stops after a bounded wait, naming the check to make", async () => {
        await withCluster(["cp1"], async ([cp1]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await endpointAway(cp1, Number.MAX_SAFE_INTEGER);
            await cp1.clearCalls();
            const failed = await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" });
            assert.notEqual(failed.status, 0);
            assert.match(
                failed.stderr,
                new RegExp(`the API server behind /etc/kubernetes/admin\\.conf did not answer within ${API_WAIT_SECONDS}s \\(kubectl --kubeconfig /etc/kubernetes/admin\\.conf get --raw=/readyz\\)`),
            );
            assert.equal(await waits(cp1), API_WAIT_SECONDS / 2, "2 s at a time, API_WAIT_SECONDS in all");
            assert.deepEqual(await cp1.mutatingCalls(), []);
        });
    });

    hostTest("a control-plane join that failed after its kubelet registered: a later retry gets fresh certificates and a fresh token", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1);
            stageControlPlaneJoin(cp2, "cp2", await readCaCertHash(cp1));
            const preflight = expectSuccess(await cp2.runStaged("preflight.sh"), "preflight");
            expectSuccess(await cp2.runStaged("prepare.sh"), "prepare");
            expectSuccess(await runMembership(cp2, "cp2"), "membership");
            const tokenInput = ensureTokenInput("cp2", machineIdFrom(preflight.stdout));
            expectSuccess(await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" }), "upload-certs");
            expectSuccess(await cp1.runStaged("ensure-token.sh", [], { stdin: tokenInput }), "ensure-token");
            // kubeadm join fails after the kubelet registered the Node; the rollback stops the kubelet: NotReady.
            await cp2.injectFault("kubeadm-join");
            assert.notEqual((await cp2.runStaged("join.sh")).status, 0);
            await cp2.clearFaults();
            assert.match((await cp1.readCluster("nodes/cp2")) ?? "", / NotReady$/m, "the Node object stays");
            // Hours later the token and the uploaded certificates are gone; the user replaces both steps, as the join's
            // failure message says.
            await cp1.check(`sed -i 's/^expired=no$/expired=yes/' "$SIM_CLUSTER/kubeadm-certs" "$SIM_CLUSTER/tokens/${CLUSTER.token.split(".")[0]}"`);
            await cp1.clearCalls();
            expectSuccess(await cp1.runStaged("upload-certs.sh", [], { stdin: "cp2\n" }), "upload-certs again");
            expectSuccess(await cp1.runStaged("ensure-token.sh", [], { stdin: tokenInput }), "ensure-token again");
            assert.deepEqual(
                (await cp1.mutatingCalls()).filter((c) => c.tool === "kubeadm").map((c) => c.line.split(" ").slice(0, 4).join(" ")),
                ["kubeadm init phase upload-certs", "kubeadm token delete " + CLUSTER.token.split(".")[0], "kubeadm token create " + CLUSTER.token],
            );
            expectSuccess(await cp2.runStaged("join.sh"), "join again");
            assert.match((await cp1.readCluster("nodes/cp2")) ?? "", / Ready$/m);
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"]);
        });
    });

    hostTest("a control plane put before the primary: its init refuses because the endpoint already answers", async () => {
        await withCluster(["cp1", "cp0"], async ([cp1, cp0]) => {
            await bootControlPlane(cp1);
            stageControlPlane(cp0, "cp0", CLUSTER.token, { kubeVip: KUBE_VIP });
            for (const script of ["preflight.sh", "prepare.sh"]) expectSuccess(await cp0.runStaged(script), script);
            expectSuccess(await runMembership(cp0, "cp0"), "membership");
            await cp0.clearCalls();
            const before = await cp0.snapshot();
            const refused = await cp0.runStaged("init.sh");
            assert.notEqual(refused.status, 0);
            assert.match(refused.stderr, /an API server already answers at k8s\.lab\.internal:6443 \(HTTP 200\), but this host was never initialised: another control plane created this cluster\. The first control plane in nodes runs kubeadm init, so move the node that did back to the front of nodes/);
            assert.deepEqual((await cp0.mutatingCalls()).map((c) => c.line), [], "nothing ran: no kubeadm init, no manifest");
            assert.deepEqual(diffSnapshots(before, await cp0.snapshot(), { ignore: [/^\/var\/log:/] }), []);
            assert.equal(await cp0.exists(MANIFEST), false);
        });
    });

    hostTest("a joined control plane promoted to primary (the first one removed): its init step only checks", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            // The program now stages the primary's files on cp2.
            stageControlPlane(cp2, "cp2", CLUSTER.token, { kubeVip: KUBE_VIP });
            const result = await assertNoChange([cp2], "init.sh on the promoted control plane", () => cp2.runStaged("init.sh"));
            assert.match(result.stderr, /control plane already initialised/);
        });
    });
});

describe("nodes leave", { concurrency: 2 }, () => {
    hostTest("a worker leaves: drain and delete on the primary, then reset and Cilium cleanup on the node; it can join again", async () => {
        await withCluster(["cp1", "w1"], async ([cp1, w1]) => {
            await bootControlPlane(cp1);
            await bootWorker(cp1, w1, "w1");
            await w1.writeFile("/etc/cni/net.d/05-cilium.conflist", "{}\n");
            await writeCiliumDatapath(w1);
            await cp1.clearCalls();
            await w1.clearCalls();

            const leave = expectSuccess(await runLeave(cp1, "w1", false), "leave");
            assert.deepEqual(
                (await cp1.mutatingCalls()).map((c) => c.line),
                [
                    "kubectl --kubeconfig /etc/kubernetes/admin.conf drain w1 --ignore-daemonsets --delete-emptydir-data --force --timeout=5m",
                    "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node w1 --ignore-not-found",
                ],
            );
            assert.match(leave.stderr, /drained w1[\s\S]*deleted node w1/);
            assert.equal(await cp1.readCluster("nodes/w1"), undefined);
            assert.deepEqual(await w1.mutatingCalls(), [], "leave runs on the primary only");
            await assertNoChange([cp1, w1], "leave", () => runLeave(cp1, "w1", false));

            expectSuccess(await runReset(w1, "w1"), "reset");
            const calls = (await w1.mutatingCalls()).map((c) => c.line);
            assert.deepEqual(calls, [
                "kubeadm reset -f",
                "iptables-restore",
                "ip6tables-restore",
                "ip link delete cilium_host",
                "ip link delete cilium_net",
                "ip link delete cilium_vxlan",
            ]);
            assert.equal(await w1.readState("iptables/v4"), HOST_IPTABLES, "only Cilium's and the kubelet's chains went");
            assert.doesNotMatch((await w1.readState("iptables/v6")) ?? "", /CILIUM_|KUBE-/);
            assert.equal(await w1.check("find /etc/kubernetes /var/lib/kubelet /etc/cni/net.d /run/cilium /sys/fs/bpf/cilium ! -type d 2>/dev/null || true"), "");
            assert.equal(await w1.check("ls /sys/fs/bpf/tc/globals"), "other_tool_map\n", "pinned maps of other tools stay");
            assert.equal(await w1.exists("/var/lib/homelab/member"), false);
            await assertNoChange([w1], "reset", () => runReset(w1, "w1"));

            // Reusable: the same host joins again (a fresh token, a clean host).
            await bootWorker(cp1, w1, "w1");
            assert.match((await cp1.readCluster("nodes/w1")) ?? "", / Ready$/m);
        });
    });

    hostTest("a control plane leaves: its etcd member goes before its Node, and its reset leaves the cluster alone", async () => {
        await withCluster(["cp1", "cp2", "cp3"], async ([cp1, cp2, cp3]) => {
            await bootControlPlane(cp1);
            await bootControlPlaneJoin(cp1, cp2, "cp2");
            await bootControlPlaneJoin(cp1, cp3, "cp3");
            await cp1.clearCalls();
            expectSuccess(await runLeave(cp1, "cp3", true), "leave cp3");
            const calls = (await cp1.calls()).map((c) => c.line.replace(/ --endpoints=\S+ --cacert=\S+ --cert=\S+ --key=\S+/, ""));
            const drain = calls.findIndex((l) => / drain cp3 /.test(l));
            const remove = calls.findIndex((l) => /etcdctl member remove /.test(l));
            const del = calls.findIndex((l) => / delete node cp3/.test(l));
            assert.ok(drain >= 0 && drain < remove && remove < del, calls.join("\n"));
            assert.match(calls[remove], /exec etcd-cp1 -- etcdctl member remove [0-9a-f]{16}/, "through an etcd pod on another control plane");
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"]);
            assert.equal(await cp1.readCluster("nodes/cp3"), undefined);
            await assertNoChange([cp1], "leave cp3", () => runLeave(cp1, "cp3", true));

            expectSuccess(await runReset(cp3, "cp3"), "reset cp3");
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"], "the cluster keeps its other members");
            assert.equal(await cp1.readCluster("endpoint"), `${CLUSTER.controlPlaneEndpoint}\n`, "the cluster is still up");
            assert.equal(await cp3.check("find /etc/kubernetes /var/lib/etcd /var/lib/kubelet ! -type d"), "");

            // Without the explicit removal, deleting the Node first leaves kubeadm reset unable to remove the member.
            await cp1.check("kubectl --kubeconfig /etc/kubernetes/admin.conf delete node cp2");
            const reset = expectSuccess(await runReset(cp2, "cp2"), "reset cp2 after its Node was deleted");
            assert.match(reset.stderr, /failed to get corresponding node: nodes "cp2" not found/);
            assert.equal(await cp1.readCluster("etcd/cp2"), `${await cp1.check('cut -d" " -f1 "$SIM_CLUSTER/etcd/cp2"').then((id) => id.trim())} stopped\n`, "a dead member stays");
        });
    });

    hostTest("a control plane holding kube-vip's VIP is reset: the address leaves its interface, even after a failure", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            // cp2 holds the VIP (kube-vip added it to eth0); kubeadm reset kills kube-vip without it removing the
            // address (kube-vip#996). The host's own address stays.
            await cp2.writeState("addrs/eth0", "10.0.0.11/24\n10.0.0.100/32\n");
            expectSuccess(await runLeave(cp1, "cp2", true), "leave cp2");
            await cp2.clearCalls();
            await cp2.injectFault("ip-addr-del");
            const failed = await runReset(cp2, "cp2");
            assert.notEqual(failed.status, 0);
            assert.match(failed.stderr, /could not remove kube-vip's address 10\.0\.0\.100 from eth0/);
            assert.equal(await cp2.exists(MANIFEST), false, "the manifest is gone: the re-run must still know the address");
            await cp2.clearFaults();
            const reset = expectSuccess(await runReset(cp2, "cp2"), "reset re-run");
            assert.match(reset.stderr, /removed kube-vip's address 10\.0\.0\.100 from eth0/);
            assert.equal(await cp2.readState("addrs/eth0"), "10.0.0.11/24\n", "only the VIP went");
            assert.ok((await cp2.mutatingCalls()).some((c) => c.line === "ip addr del 10.0.0.100/32 dev eth0"));
            assert.equal(await cp2.exists("/var/lib/homelab/kube-vip-address"), false);
            await assertNoChange([cp2], "reset", () => runReset(cp2, "cp2"));
        });
    });

    hostTest("the control plane holding the VIP leaves: the API server away while the VIP moves delays the Node's deletion, no more", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            // cp2's etcd member goes; its API server (behind the VIP it holds) fails until the VIP moves to cp1.
            await endpointAway(cp1, 2, "kubectl-delete");
            await cp1.clearCalls();
            const leave = expectSuccess(await runLeave(cp1, "cp2", true), "leave cp2");
            assert.match(leave.stderr, /kubectl failed while the API server was not answering \(attempt 1 of 3\); waiting for it/);
            assert.equal(await waits(cp1), 2);
            assert.equal(await cp1.readCluster("nodes/cp2"), undefined);
            assert.deepEqual(await etcdMembers(cp1), ["cp1"]);
        });
    });

    hostTest("leave: a drain that times out stops with the reason; an etcd failure stops before the Node goes; re-runs finish", async () => {
        await withCluster(["cp1", "cp2"], async ([cp1, cp2]) => {
            await bootControlPlane(cp1);
            await bootControlPlaneJoin(cp1, cp2, "cp2");
            await cp1.injectFault("kubectl-drain");
            const blocked = await runLeave(cp1, "cp2", true);
            assert.notEqual(blocked.status, 0);
            assert.match(blocked.stderr, /draining cp2 did not finish within 5m \(a PodDisruptionBudget may block an eviction: kubectl get pdb -A\); free it and run pulumi again/);
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"], "nothing removed");
            await cp1.clearFaults();
            await cp1.injectFault("kubectl-exec", "member remove");
            const etcdFailed = await runLeave(cp1, "cp2", true);
            assert.match(etcdFailed.stderr, /could not remove cp2's etcd member [0-9a-f]{16} through etcd-cp1/);
            assert.ok(await cp1.readCluster("nodes/cp2"), "the Node stays until its member is gone");
            await cp1.clearFaults();
            expectSuccess(await runLeave(cp1, "cp2", true), "leave after the failures");
            assert.deepEqual(await etcdMembers(cp1), ["cp1"]);
            assert.equal(await cp1.readCluster("nodes/cp2"), undefined);
        });
    });

    hostTest("reset: a failure part-way (iptables-restore) is finished by the re-run", async () => {
        await withCluster(["cp1", "w1"], async ([cp1, w1]) => {
            await bootControlPlane(cp1);
            await bootWorker(cp1, w1, "w1");
            await writeCiliumDatapath(w1);
            expectSuccess(await runLeave(cp1, "w1", false), "leave");
            await w1.injectFault("iptables-restore");
            const failed = await runReset(w1, "w1");
            assert.notEqual(failed.status, 0);
            assert.match(failed.stderr, /iptables-restore failed/);
            await w1.clearFaults();
            expectSuccess(await runReset(w1, "w1"), "reset re-run");
            assert.equal(await w1.readState("iptables/v4"), HOST_IPTABLES);
            assert.equal(await w1.check("ls /sys/fs/bpf/tc/globals"), "other_tool_map\n");
            await assertNoChange([w1], "reset", () => runReset(w1, "w1"));
        });
    });

    hostTest("destroy: workers, then the other control plane, then the primary; every host can be used again", async () => {
        await withCluster(["cp1", "cp2", "w1"], async ([cp1, cp2, w1]) => {
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            await bootWorker(cp1, w1, "w1");
            for (const host of [cp1, cp2, w1]) await writeCiliumDatapath(host);
            // The primary carries the etcd snapshot tool with a timer, and one snapshot.
            cp1.stage({
                "etcd-snapshot.sh": snapshotToolScript({ nodeName: "cp1", dir: SNAPSHOT_DIR, retain: 5 }),
                "etcd-snapshot-install.sh": snapshotInstallScript({ schedule: "daily" }),
            });
            expectSuccess(await cp1.runStaged("etcd-snapshot-install.sh"), "etcd-snapshot-install");
            const snapshot = expectSuccess(await cp1.run("homelab-etcd-snapshot before-destroy"), "snapshot").stdout.trim();
            // The program's delete order (tests/kubeadm/ha.graph.test.ts): each leave on the primary, then the reset.
            expectSuccess(await runLeave(cp1, "w1", false), "leave w1");
            expectSuccess(await runReset(w1, "w1"), "reset w1");
            expectSuccess(await runLeave(cp1, "cp2", true), "leave cp2");
            expectSuccess(await runReset(cp2, "cp2"), "reset cp2");
            const last = expectSuccess(await runLeave(cp1, "cp1", true), "leave cp1 (the primary, on itself)");
            assert.match(last.stderr, /no etcd member runs besides cp1's/);
            expectSuccess(await runReset(cp1, "cp1"), "reset cp1");
            assert.equal(await cp1.readCluster("endpoint"), undefined, "the last member's reset took the cluster with it");
            assert.equal(await cp1.exists("/usr/local/sbin/homelab-etcd-snapshot"), false, "no snapshot tool for a cluster that is gone");
            assert.equal(await cp1.exists("/etc/systemd/system/homelab-etcd-snapshot.timer"), false);
            assert.equal(await cp1.readState("units/homelab-etcd-snapshot.timer.active"), undefined, "the timer is stopped");
            assert.ok(await cp1.exists(snapshot), "snapshots already taken stay");
            for (const host of [cp1, cp2, w1]) {
                assert.equal(await host.check(`find /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d /run/cilium /sys/fs/bpf/cilium ! -type d 2>/dev/null || true`), "");
                assert.equal(await host.exists(MANIFEST), false);
                assert.equal(await host.readState("iptables/v4"), HOST_IPTABLES);
                assert.equal(await host.readState("links/cilium_host"), undefined);
                assert.equal(await host.exists("/var/lib/homelab/member"), false);
            }
            // Reusable: a fresh cluster on the same hosts.
            await bootControlPlane(cp1, "cp1", { kubeVip: KUBE_VIP });
            await bootControlPlaneJoin(cp1, cp2, "cp2", { kubeVip: KUBE_VIP });
            await bootWorker(cp1, w1, "w1");
            assert.deepEqual(await etcdMembers(cp1), ["cp1", "cp2"]);
        });
    });
});

