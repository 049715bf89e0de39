import { test } from "node:test";
import assert from "node:assert/strict";
import { ASSET_SIG, computeWaves, containsSecret, sanitize, SECRET_SIG, SIG_KEY, UNKNOWN, type RecordedResource } from "../../tools/plan/graph";

function res(name: string, extra: Partial<RecordedResource> = {}): RecordedResource {
    return {
        urn: `urn:pulumi:dev::homelab::t::${name}`,
        type: "test:index:Thing",
        name,
        custom: true,
        dependencies: [],
        propertyDependencies: {},
        inputs: {},
        additionalSecretOutputs: [],
        replaceOnChanges: [],
        ...extra,
    };
}
const urn = (name: string): string => `urn:pulumi:dev::homelab::t::${name}`;
const wavesOf = (all: RecordedResource[]): Record<string, number> =>
    Object.fromEntries(computeWaves(all).map((p) => [p.resource.name, p.wave]));

test("dependsOn, property dependencies and the provider reference are all edges", () => {
    const waves = wavesOf([
        res("a"),
        res("b", { dependencies: [urn("a")] }),
        res("c", { propertyDependencies: { kubeconfig: [urn("b")] } }),
        res("p", { type: "pulumi:providers:kubernetes", dependencies: [urn("c")] }),
        res("release", { provider: urn("p") }),
    ]);
    assert.deepEqual(waves, { a: 1, b: 2, c: 3, p: 4, release: 5 });
});

test("an edge to a component means an edge to each of its custom descendants", () => {
    const waves = wavesOf([
        res("comp", { custom: false }),
        res("child1", { parent: urn("comp") }),
        res("inner", { custom: false, parent: urn("comp") }),
        res("child2", { parent: urn("inner"), dependencies: [urn("child1")] }),
        res("after", { dependencies: [urn("comp")] }),
    ]);
    assert.deepEqual(waves, { child1: 1, child2: 2, after: 3 });
});

test("a remote component (e.g. yaml.v2.ConfigFile) is planned like a custom resource, not expanded away", () => {
    const waves = wavesOf([
        res("base"),
        res("crds", { custom: false, remote: true, type: "kubernetes:yaml/v2:ConfigFile", dependencies: [urn("base")] }),
        res("istiod", { dependencies: [urn("crds")] }),
    ]);
    assert.deepEqual(waves, { base: 1, crds: 2, istiod: 3 });
});

test("independent resources share a wave; default providers are not planned", () => {
    const waves = wavesOf([
        res("default_1_2_1", { type: "pulumi:providers:command" }),
        res("x", { provider: urn("default_1_2_1") }),
        res("y", { provider: urn("default_1_2_1") }),
    ]);
    assert.deepEqual(waves, { x: 1, y: 1 });
});

test("a dependency cycle is reported", () => {
    assert.throws(() => computeWaves([res("a", { dependencies: [urn("b")] }), res("b", { dependencies: [urn("a")] })]), /dependency cycle/);
});

test("sanitize redacts secrets at any depth and shows assets as their text", () => {
    const secret = { [SIG_KEY]: SECRET_SIG, value: "hunter2" };
    const asset = { [SIG_KEY]: ASSET_SIG, text: "#!/bin/bash" };
    assert.deepEqual(sanitize({ b: [secret], a: asset, u: UNKNOWN }), {
        a: { text: "#!/bin/bash" },
        b: ["[secret]"],
        u: "[unknown until apply]",
    });
    assert.equal(JSON.stringify(sanitize({ deep: { deeper: secret } })).includes("hunter2"), false);
    assert.equal(containsSecret({ deep: { deeper: [secret] } }), true);
    assert.equal(containsSecret({ deep: { deeper: [asset] } }), false);
});
