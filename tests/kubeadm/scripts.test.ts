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
} from "../../components/kubeadm";
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
    // The filters must have found the real invocations: two installs per prepare variant; a rollback per init/join variant (6) + 2 resets.
    assert.equal(installs, 4);
    assert.equal(resets, 8);
});

test("prepare installs from the per-minor repository of the configured version", () => {
    assert.equal(kubernetesMinor("1.33.10"), "v1.33");
    assert.match(scripts["prepare-1.33"], /readonly K8S_REPO='https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb\/'/);
    assert.match(scripts["prepare-1.34"], /readonly K8S_VERSION='1\.34\.1'/);
    assert.notEqual(contentHash(scripts["prepare-1.33"]), contentHash(scripts["prepare-1.34"]), "a version change must change the trigger");
});
