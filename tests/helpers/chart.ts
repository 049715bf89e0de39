/**
 * Checks Helm values against a chart's real values.yaml and values.schema.json from ../shared/upstream (read by path,
 * never copied into the project).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import * as YAML from "yaml";

/** Folder with the upstream chart data, beside the project. */
export const UPSTREAM = path.resolve(__dirname, "../../../shared/upstream");

/**
 * Every key path a chart's values.yaml defines, including keys present only as commented-out lines (for example
 * `#kubeProxyReplacement: "false"` at the top level, or `  # hostNamespaceOnly: false` under `socketLB:`), which Helm
 * accepts like any other key. Lists are leaves.
 */
export function chartKeyPaths(valuesYamlText: string): Set<string> {
    const paths = new Set<string>();
    const walk = (node: unknown, prefix: string): void => {
        if (typeof node === "object" && node !== null && !Array.isArray(node)) {
            for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
                paths.add(`${prefix}${key}`);
                walk(child, `${prefix}${key}.`);
            }
        }
    };
    walk(YAML.parse(valuesYamlText), "");

    const parents: { indent: number; key: string }[] = [];
    for (const line of valuesYamlText.split("\n")) {
        const key = /^(\s*)([A-Za-z0-9_.-]+):(\s|$)/.exec(line);
        const commented = /^(\s*)#\s?([A-Za-z][A-Za-z0-9_]*):(\s|$)/.exec(line);
        const match = key ?? commented;
        if (!match) {
            continue;
        }
        const indent = match[1].length;
        while (parents.length > 0 && parents[parents.length - 1].indent >= indent) {
            parents.pop();
        }
        const full = [...parents.map((p) => p.key), match[2]].join(".");
        if (key) {
            parents.push({ indent, key: match[2] });
        } else {
            paths.add(full);
        }
    }
    return paths;
}

/** Loads a chart's key paths and a schema validator. */
export function loadChart(relative: string): { keyPaths: Set<string>; validate: (values: unknown) => string[] } {
    const dir = path.join(UPSTREAM, relative);
    const keyPaths = chartKeyPaths(readFileSync(path.join(dir, "values.yaml"), "utf8"));
    const schema = JSON.parse(readFileSync(path.join(dir, "values.schema.json"), "utf8")) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = ajv.compile(schema);
    return {
        keyPaths,
        validate: (values: unknown): string[] =>
            check(values) ? [] : (check.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`),
    };
}
