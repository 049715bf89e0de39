import { test } from "node:test";
import assert from "node:assert/strict";
import { ciliumCheckScript, ciliumCliScript, expectedCiliumConfig } from "../../components/cilium";
import { shellcheck, shellcheckSkip } from "../helpers/shellcheck";

const scripts = {
    cli: ciliumCliScript({ version: "v0.18.9" }),
    "check-off": ciliumCheckScript({ istio: "off", waitDuration: "10m" }),
    "check-sidecar": ciliumCheckScript({ istio: "sidecar", waitDuration: "10m" }),
    "check-ambient": ciliumCheckScript({ istio: "ambient", waitDuration: "5m" }),
};

test("the Cilium scripts pass shellcheck with no findings", { skip: shellcheckSkip }, () => {
    const { status, output } = shellcheck(scripts, "bash");
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("the CLI comes from the pinned release and is checked against its .sha256sum before install", () => {
    const text = scripts.cli;
    assert.match(text, /releases\/download\/\$CLI_VERSION/);
    assert.ok(text.indexOf("sha256sum --check") < text.indexOf("install -m 0755"), "verify before installing");
    assert.doesNotMatch(text, /stable\.txt/, "never the moving stable channel");
});

test("the checked cilium-config keys follow the Istio mode", () => {
    assert.deepEqual(Object.keys(expectedCiliumConfig("off")), ["kube-proxy-replacement"]);
    assert.deepEqual(Object.keys(expectedCiliumConfig("sidecar")), ["kube-proxy-replacement", "cni-exclusive", "bpf-lb-sock-hostns-only"]);
    assert.deepEqual(expectedCiliumConfig("ambient")["enable-bpf-masquerade"], { want: "false", absentMeans: "false" });
    assert.match(scripts["check-ambient"], /--wait-duration "\$WAIT"/);
    assert.match(scripts["check-ambient"], /readonly WAIT='5m'/);
});
