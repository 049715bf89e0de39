import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
    contentHash,
    credentialsScript,
    ensureTokenScript,
    initScript,
    joinScript,
    kubernetesMinor,
    preflightScript,
    prepareScript,
    resetScript,
    runInline,
    runStaged,
    shellQuote,
} from "../../components/kubeadm";

/** Every script the program can generate, for the inputs that change its text. */
const scripts: Record<string, string> = {
    "preflight-control-plane": preflightScript({ role: "control-plane" }),
    "preflight-worker": preflightScript({ role: "worker" }),
    "prepare-1.33": prepareScript({ kubernetesVersion: "1.33.10" }),
    "prepare-1.34": prepareScript({ kubernetesVersion: "1.34.1" }),
    init: initScript(),
    credentials: credentialsScript({ controlPlaneEndpoint: "192.0.2.10:6443" }),
    "ensure-token": ensureTokenScript(),
    join: joinScript(),
    reset: resetScript(),
};

/** Command lines the SSH user's login shell runs (POSIX sh, not necessarily bash). */
const commandLines: Record<string, string> = {
    staged: runStaged("prepare.sh"),
    "staged-with-args": runStaged("credentials.sh", ["ca-cert-hash"]),
    "inline-reset": runInline(resetScript(), "HOMELAB_RESET"),
};

function shellcheckAvailable(): boolean {
    return spawnSync("shellcheck", ["--version"]).status === 0;
}

function shellcheck(files: Record<string, string>, shell: "bash" | "sh"): { status: number | null; output: string } {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-shellcheck-"));
    try {
        const paths = Object.entries(files).map(([name, text]) => {
            const file = path.join(dir, `${name}.sh`);
            writeFileSync(file, text);
            return file;
        });
        const result = spawnSync("shellcheck", ["--shell", shell, "--severity", "style", ...paths], { encoding: "utf8" });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const skipShellcheck =
    !shellcheckAvailable() && process.env.CI !== "true" ? "shellcheck is not installed (apt-get install shellcheck)" : false;

test("every generated script passes shellcheck with no findings", { skip: skipShellcheck }, () => {
    const { status, output } = shellcheck(scripts, "bash");
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("the command lines run by the login shell pass shellcheck as POSIX sh", { skip: skipShellcheck }, () => {
    const { status, output } = shellcheck(commandLines, "sh");
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
    // The filters must have found the real invocations: two installs per prepare variant; init/join rollbacks + reset.
    assert.equal(installs, 4);
    assert.equal(resets, 3);
});

test("prepare installs from the per-minor repository of the configured version", () => {
    assert.equal(kubernetesMinor("1.33.10"), "v1.33");
    assert.match(scripts["prepare-1.33"], /readonly K8S_REPO='https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb\/'/);
    assert.match(scripts["prepare-1.34"], /readonly K8S_VERSION='1\.34\.1'/);
    assert.notEqual(contentHash(scripts["prepare-1.33"]), contentHash(scripts["prepare-1.34"]), "a version change must change the trigger");
});

test("shellQuote survives any value through bash unchanged", () => {
    for (const value of ["plain", "with space", "it's", "$(rm -rf /)", "`x`", "a\"b", "back\\slash", "new\nline"]) {
        const result = spawnSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
        assert.equal(result.stdout, value);
    }
});

test("runStaged runs the staged script through sudo -n unless already root", () => {
    const line = runStaged("init.sh");
    assert.match(line, /exec bash '\.homelab\/init\.sh'/);
    assert.match(line, /exec sudo -n bash '\.homelab\/init\.sh'/);
});

test("runInline feeds the script to bash unchanged", { skip: process.getuid?.() !== 0 ? "needs root (runInline runs bash directly only as root)" : false }, () => {
    const result = spawnSync("sh", ["-c", runInline("printf '%s' \"$((6 * 7))\"", "END")], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "42");
});
