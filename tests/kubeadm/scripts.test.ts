import { test } from "node:test";
import assert from "node:assert/strict";
import {
    credentialsScript,
    ensureTokenScript,
    initScript,
    joinScript,
    kubernetesMinor,
    leaveScript,
    membershipScript,
    preflightScript,
    prepareScript,
    resetScript,
    uploadCertsScript,
    upgradeNodeScript,
    upgradeSnapshotScript,
    upgradeVerifyScript,
    upgradeWorkerScript,
} from "../../components/kubeadm";
import { snapshotInstallScript, snapshotToolScript } from "../../components/etcd";
import { contentHash } from "../../components/remote/script";
import { shellcheck, shellcheckSkip } from "../helpers/shellcheck";

const VIP = { address: "192.0.2.100", interface: "eth0", version: "v1.2.3" };

/** Every script the program can generate, for the inputs that change its text. */
const scripts: Record<string, string> = {
    "preflight-control-plane": preflightScript({ role: "control-plane" }),
    "preflight-worker": preflightScript({ role: "worker" }),
    "prepare-1.33": prepareScript({ kubernetesVersion: "1.33.10" }),
    "prepare-1.34": prepareScript({ kubernetesVersion: "1.34.1" }),
    init: initScript({ nodeName: "cp1", schedulableControlPlane: false, controlPlaneEndpoint: "192.0.2.10:6443" }),
    "init-schedulable": initScript({ nodeName: "cp1", schedulableControlPlane: true, controlPlaneEndpoint: "192.0.2.10:6443" }),
    "init-kube-vip": initScript({ nodeName: "cp1", schedulableControlPlane: false, controlPlaneEndpoint: "192.0.2.100:6443", kubeVip: VIP }),
    "join-control-plane": joinScript({ controlPlane: { nodeName: "cp2", schedulable: false } }),
    "join-control-plane-kube-vip": joinScript({ controlPlane: { nodeName: "cp2", schedulable: true, kubeVip: VIP } }),
    "upload-certs": uploadCertsScript(),
    "leave-worker": leaveScript({ nodeName: "worker1", controlPlane: false }),
    "leave-control-plane": leaveScript({ nodeName: "cp2", controlPlane: true }),
    credentials: credentialsScript({ controlPlaneEndpoint: "192.0.2.10:6443" }),
    "ensure-token": ensureTokenScript(),
    join: joinScript(),
    reset: resetScript(),
    "reset-owned": resetScript({ nodeName: "worker1" }),
    membership: membershipScript({ nodeName: "worker1" }),
    "upgrade-snapshot": upgradeSnapshotScript({ kubernetesVersion: "1.34.1" }),
    "upgrade-node-first-1.34": upgradeNodeScript({ role: "first", nodeName: "cp1", kubernetesVersion: "1.34.1", drain: true }),
    "upgrade-node-first-1.31": upgradeNodeScript({ role: "first", nodeName: "cp1", kubernetesVersion: "1.31.9", drain: false }),
    "upgrade-node-control-plane": upgradeNodeScript({ role: "control-plane", nodeName: "cp2", kubernetesVersion: "1.34.1", drain: true }),
    "upgrade-node-worker": upgradeNodeScript({ role: "worker", nodeName: "worker1", kubernetesVersion: "1.34.1", drain: true }),
    "upgrade-worker": upgradeWorkerScript({ kubernetesVersion: "1.34.1" }),
    "upgrade-verify": upgradeVerifyScript({ kubernetesVersion: "1.34.1" }),
    "etcd-snapshot": snapshotToolScript({ nodeName: "cp1", dir: "/var/lib/homelab/etcd-snapshots", retain: 5 }),
    "etcd-snapshot-install": snapshotInstallScript({ schedule: "*-*-* 03:00:00" }),
    "etcd-snapshot-install-off": snapshotInstallScript({ schedule: "" }),
};

test("every generated script passes shellcheck with no findings", { skip: shellcheckSkip }, () => {
    const { status, output } = shellcheck(scripts, "bash");
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("every script is strict, non-interactive and refuses to run without root", () => {
    for (const [name, text] of Object.entries(scripts)) {
        const lines = text.split("\n");
        assert.equal(lines[0], "#!/usr/bin/env bash", name);
        assert.ok(lines.includes("set -euo pipefail"), `${name}: set -euo pipefail`);
        assert.ok(lines.includes("export DEBIAN_FRONTEND=noninteractive"), `${name}: non-interactive apt`);
        assert.match(text, /\[ "\$\(id -u\)" -eq 0 \] \|\| die/, `${name}: root check`);
    }
});

test("no script weakens kubeadm's safety checks", () => {
    for (const [name, text] of Object.entries(scripts)) {
        assert.doesNotMatch(text, /--ignore-preflight-errors/, name);
        assert.doesNotMatch(text, /unsafe-skip-ca-verification/, name);
    }
});

test("apt installs never prompt and kubeadm never asks for confirmation", () => {
    let installs = 0;
    let resets = 0;
    for (const [name, text] of Object.entries(scripts)) {
        for (const line of text.split("\n").filter((l) => /\bapt-get install\b/.test(l))) {
            assert.match(line, /apt-get install -y/, `${name}: ${line}`);
            installs++;
        }
        // Invocations only (kubeadm itself or through the run_kubeadm log wrapper), not messages that mention reset.
        for (const line of text.split("\n").filter((l) => /^\s*(kubeadm|run_kubeadm \S+) reset\b/.test(l))) {
            assert.match(line, /reset -f/, `${name}: ${line}`);
            resets++;
        }
    }
    // The filters must have found the real invocations: two installs per prepare variant, one (the shared package
    // function) per upgrade-node variant; a rollback per init/join variant (6) + 2 resets.
    assert.equal(installs, 8);
    assert.equal(resets, 8);
});

test("prepare installs from the per-minor repository of the configured version", () => {
    assert.equal(kubernetesMinor("1.33.10"), "v1.33");
    assert.match(scripts["prepare-1.33"], /readonly K8S_REPO='https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb\/'/);
    assert.match(scripts["prepare-1.34"], /readonly K8S_VERSION='1\.34\.1'/);
    assert.notEqual(contentHash(scripts["prepare-1.33"]), contentHash(scripts["prepare-1.34"]), "a version change must change the trigger");
});

test("kubeadm upgrade apply never prompts, and skips the kube-proxy phase where kubeadm has it (1.32+)", () => {
    const apply = (name: string): string[] => scripts[name].split("\n").filter((l) => /^\s*run_kubeadm \S+ upgrade apply\b/.test(l));
    assert.deepEqual(apply("upgrade-node-first-1.34").map((l) => /--yes --skip-phases=addon\/kube-proxy\b/.test(l)), [true]);
    // kubeadm 1.31 has no apply phases: the absent kube-proxy ConfigMap (asserted right before) is the guarantee.
    assert.deepEqual(apply("upgrade-node-first-1.31").map((l) => /--yes\b/.test(l) && !l.includes("--skip-phases")), [true]);
    assert.match(scripts["upgrade-node-first-1.31"], /refuse_kube_proxy\n\s+run_kubeadm upgrade-plan/);
    assert.match(scripts["upgrade-node-control-plane"], /run_kubeadm upgrade-node upgrade node --skip-phases=addon\/kube-proxy/);
    assert.doesNotMatch(scripts["upgrade-node-worker"], /skip-phases|drain_node|upgrade apply/);
});
