/**
 * Every example stack in the repository (`Pulumi.<stack>.yaml`) is valid: zero validation errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { resolveConfig } from "../../components/config";
import { projectKeys, readStackConfig } from "../../tools/plan/stack";
import { ROOT } from "../helpers/graph";

const stacks = readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();

test("the repository has example stacks, including the HA one", () => {
    assert.ok(stacks.includes("dev") && stacks.includes("ha"), stacks.join(", "));
});

for (const stack of stacks) {
    test(`Pulumi.${stack}.yaml resolves without errors`, () => {
        const { errors } = resolveConfig(projectKeys(readStackConfig(ROOT, stack)), { hasPrivateKey: true });
        assert.deepEqual(errors, []);
    });
}
