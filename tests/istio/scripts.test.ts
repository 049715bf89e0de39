import { test } from "node:test";
import assert from "node:assert/strict";
import { MESH_CHECK_NAMESPACE, meshCheckScript, meshLabel } from "../../components/istio";
import { shellcheck, shellcheckSkip } from "../helpers/shellcheck";

const scripts = {
    sidecar: meshCheckScript({ mode: "sidecar", waitDuration: "5m", probeImage: "registry.k8s.io/pause:3.10" }),
    ambient: meshCheckScript({ mode: "ambient", waitDuration: "5m", probeImage: "registry.k8s.io/pause:3.10" }),
};

test("the mesh-check scripts pass shellcheck with no findings", { skip: shellcheckSkip }, () => {
    const { status, output } = shellcheck(scripts, "bash");
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("the namespace label that meshes a namespace follows the mode", () => {
    assert.deepEqual(meshLabel("sidecar"), { key: "istio-injection", value: "enabled" });
    assert.deepEqual(meshLabel("ambient"), { key: "istio.io/dataplane-mode", value: "ambient" });
    assert.match(scripts.ambient, /readonly MESH_LABEL='istio\.io\/dataplane-mode=ambient'/);
});

test("the smoke test cleans up its namespace on every exit, and only its own", () => {
    for (const text of Object.values(scripts)) {
        assert.match(text, new RegExp(`readonly NS='${MESH_CHECK_NAMESPACE}'`));
        assert.ok(text.indexOf("trap cleanup EXIT") < text.indexOf('kubectl create namespace "$NS"'), "the trap is set before anything is created");
    }
});
