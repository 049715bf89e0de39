/**
 * Stack config as the Pulumi CLI would hand it to the program, without the CLI: `Pulumi.yaml` defaults overlaid with
 * `Pulumi.<stack>.yaml`. `secure:` values cannot be decrypted here; they become redacted secrets.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

/** Placeholder for an encrypted (`secure:`) stack value. */
export const REDACTED_SECRET = "[secret]";

/** Config ready for `pulumi.runtime.setAllConfig`. */
export interface StackConfigFile {
    /** Project name from `Pulumi.yaml`. */
    readonly project: string;
    /** Fully qualified key → string value. */
    readonly values: Record<string, string>;
    /** Fully qualified keys whose values are secrets. */
    readonly secretKeys: string[];
}

interface ProjectFile {
    name: string;
    config?: Record<string, { default?: unknown; secret?: boolean } | string | number | boolean>;
}

function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` from `projectDir`. `overrides` (un-namespaced key → value) are
 * applied last, like `pulumi config set` would.
 */
export function readStackConfig(projectDir: string, stack: string, overrides: Record<string, string> = {}): StackConfigFile {
    const project = YAML.parse(readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as ProjectFile;
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const qualify = (key: string): string => (key.includes(":") ? key : `${project.name}:${key}`);

    for (const [key, decl] of Object.entries(project.config ?? {})) {
        const fq = qualify(key);
        if (typeof decl === "object" && decl !== null) {
            if (decl.default !== undefined) {
                values[fq] = configString(decl.default);
            }
            if (decl.secret) {
                secretKeys.add(fq);
            }
        } else {
            values[fq] = configString(decl);
        }
    }

    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!existsSync(stackFile)) {
        throw new Error(`no stack file ${path.basename(stackFile)} in ${projectDir}: create it or pass --stack <name>`);
    }
    const stackDoc = (YAML.parse(readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
        const fq = qualify(key);
        if (typeof value === "object" && value !== null && "secure" in value) {
            values[fq] = REDACTED_SECRET;
            secretKeys.add(fq);
        } else {
            values[fq] = configString(value);
        }
    }
    for (const [key, value] of Object.entries(overrides)) {
        values[qualify(key)] = value;
    }
    return { project: project.name, values, secretKeys: [...secretKeys].sort() };
}

/** The un-namespaced view of this project's keys, as `resolveConfig` takes them. */
export function projectKeys(config: StackConfigFile): Record<string, string> {
    const prefix = `${config.project}:`;
    return Object.fromEntries(
        Object.entries(config.values)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), v]),
    );
}
