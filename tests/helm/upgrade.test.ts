/**
 * The version-step rule as a pure function, the image-tag parsing, and the guard scripts' text (shellcheck, read-only,
 * fail closed). The same table runs through the real scripts in tests/host/version-guard.host.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CILIUM_VERSION_GUARD, CILIUM_VERSION_WHERE, ciliumVersionGuardScript } from "../../components/cilium";
import { imageTag, parseVersion, versionGuardScript, versionStep } from "../../components/helm/upgrade";
import { ISTIO_VERSION_GUARD, ISTIO_VERSION_WHERE, istioVersionGuardScript } from "../../components/istio";
import { shellcheck, shellcheckSkip } from "../helpers/shellcheck";
import { STEP_CASES } from "../helpers/version-steps";

const subject = { cilium: CILIUM_VERSION_GUARD, istio: ISTIO_VERSION_GUARD };
const where = { cilium: CILIUM_VERSION_WHERE, istio: ISTIO_VERSION_WHERE };

for (const c of STEP_CASES) {
    test(`version step: ${c.name} (${c.running ?? "nothing"} → ${c.target}) is ${c.verdict}`, () => {
        assert.equal(versionStep(subject[c.component], c.target, c.running, where[c.component]).verdict, c.verdict);
    });
}

test("a skipped Cilium minor is refused naming ciliumVersion, the running version and the intermediate minor", () => {
    const step = versionStep(CILIUM_VERSION_GUARD, "1.20.0", "quay.io/cilium/cilium:v1.18.4@sha256:00", CILIUM_VERSION_WHERE);
    assert.equal(
        step.message,
        "ciliumVersion: 1.20.0 would upgrade the running Cilium 1.18.4 by 2 minor versions, and Cilium upgrades one minor at a time " +
            "— set ciliumVersion to the newest 1.19 patch, run pulumi up, then set it to 1.20.0",
    );
});

test("a rollback of two Istio minors is refused naming istioVersion and the minor to go through", () => {
    const step = versionStep(ISTIO_VERSION_GUARD, "1.29.0", "docker.io/istio/pilot:1.31.1", ISTIO_VERSION_WHERE);
    assert.equal(step.verdict, "refuse");
    assert.equal(
        step.message,
        "istioVersion: 1.29.0 would roll the running Istio 1.31.1 back by 2 minor versions, and Istio rolls back one minor at a time " +
            "— set istioVersion to a 1.30 patch first, or keep 1.31.1",
    );
});

test("a one-minor rollback passes with a warning that says what to watch for", () => {
    const cilium = versionStep(CILIUM_VERSION_GUARD, "1.18.4", "quay.io/cilium/cilium:v1.19.1", CILIUM_VERSION_WHERE);
    assert.equal(cilium.verdict, "rollback");
    assert.match(cilium.message, /^WARNING: ciliumVersion 1\.18\.4 rolls the running Cilium 1\.19\.1 back one minor version\. /);
    assert.match(cilium.message, /upgrade notes/);
    const istio = versionStep(ISTIO_VERSION_GUARD, "1.30.3", "docker.io/istio/pilot:1.31.1", ISTIO_VERSION_WHERE);
    assert.match(istio.message, /restart meshed workloads/);
});

test("an image whose tag is no version is refused, not taken for a fresh cluster", () => {
    const step = versionStep(CILIUM_VERSION_GUARD, "1.18.0", "quay.io/cilium/cilium:latest", CILIUM_VERSION_WHERE);
    assert.equal(step.verdict, "refuse");
    assert.match(step.message, /image of daemonset\/cilium \(container cilium-agent\) in kube-system is 'quay\.io\/cilium\/cilium:latest'/);
});

test("image tags: digest dropped, registry port ignored, v prefix and suffixes tolerated", () => {
    assert.equal(imageTag("quay.io/cilium/cilium:v1.18.0@sha256:ab"), "v1.18.0");
    assert.equal(imageTag("registry.lab:5000/cilium/cilium:v1.17.6"), "v1.17.6");
    assert.equal(imageTag("registry.lab:5000/cilium/cilium"), "");
    assert.equal(imageTag("quay.io/cilium/cilium@sha256:ab"), "");
    assert.deepEqual(parseVersion("1.31.1-distroless"), { major: 1, minor: 31, patch: 1 });
    assert.deepEqual(parseVersion("v1.18.10"), { major: 1, minor: 18, patch: 10 });
    assert.equal(parseVersion("latest"), undefined);
    assert.equal(parseVersion("1.18"), undefined);
});

const scripts = {
    cilium: ciliumVersionGuardScript("1.19.1"),
    istio: istioVersionGuardScript("1.31.1"),
};

test("the version guard scripts pass shellcheck with no findings", { skip: shellcheckSkip }, () => {
    const { status, output } = shellcheck(scripts, "bash");
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("the guard scripts carry their target and read only: kubectl get, nothing else", () => {
    assert.match(scripts.cilium, /readonly TARGET='1\.19\.1'/);
    assert.match(scripts.cilium, /readonly KIND='daemonset'\nreadonly NAME='cilium'\nreadonly CONTAINER='cilium-agent'/);
    assert.match(scripts.istio, /readonly KIND='deployment'\nreadonly NAME='istiod'\nreadonly CONTAINER='discovery'/);
    for (const text of Object.values(scripts)) {
        const verbs = [...text.matchAll(/kubectl (?:-n "\$NS" )?(\w+)/g)].map((m) => m[1]);
        assert.deepEqual(verbs, ["get", "get"]);
        // Every query is checked: a failed kubectl must stop the script instead of reading as "nothing running".
        assert.equal((text.match(/\)\s*\\\n\s*\|\| die/g) ?? []).length, 2);
    }
});

test("a target that is not major.minor.patch, or text that would break the bash strings, is a programming error", () => {
    assert.throws(() => ciliumVersionGuardScript("1.19"), /not major\.minor\.patch/);
    assert.throws(() => ciliumVersionGuardScript("1.19.0-rc.1"), /not major\.minor\.patch/);
    assert.throws(() => versionGuardScript({ ...CILIUM_VERSION_GUARD, rollbackAdvice: "see $HOME", target: "1.18.0" }), /must not contain/);
});
