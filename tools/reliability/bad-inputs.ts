/**
 * The bad-input matrix: every example of the bad-input tables (tests/{config,cilium,istio}/bad-inputs.ts, the same
 * tables the tests run) through `resolveConfig`, plus the one rule only the program itself can check (a plain-text
 * SSH key: whether a config value is stored as a secret is known only inside the Pulumi runtime), evaluated like the
 * offline plan in a child process. Each row keeps the exact message produced; the coverage check maps every message
 * template of the validation code (message-sites.ts) to the examples that hit it.
 */
import * as path from "node:path";
import { resolveConfig, type RawConfig } from "../../components/config";
import { good, CLUSTER_BAD_INPUTS, OPERATIONS_BAD_INPUTS, type BadInput } from "../../tests/config/bad-inputs";
import { CILIUM_BAD_INPUTS } from "../../tests/cilium/bad-inputs";
import { ISTIO_BAD_INPUTS } from "../../tests/istio/bad-inputs";
import { runPlan } from "../../tests/helpers/plan-cli";
import type { PlanDocument } from "../plan/plan";
import { validationMessageSites, type MessageSite } from "./message-sites";

/** A rule only the program can check: config overrides for the dev stack's plan, and the message. */
export interface ProgramBadInput {
    readonly rule: string;
    readonly overrides: Readonly<Record<string, string>>;
    readonly message: RegExp;
}

/** Rules checked by the program (loadStackConfig) rather than by the pure `resolveConfig`. */
export const PROGRAM_BAD_INPUTS: readonly ProgramBadInput[] = [
    {
        rule: "SSH key stored in plain text",
        // What `pulumi config set sshPrivateKey …` without --secret stores.
        overrides: { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nPLAINTEXT\n-----END OPENSSH PRIVATE KEY-----" },
        message: /^sshPrivateKey: stored in plain text in the stack file — set it again as a secret: pulumi config set --secret sshPrivateKey/,
    },
];

/** The tables by domain. */
export const BAD_INPUT_TABLES: Readonly<Record<string, readonly BadInput[]>> = {
    cluster: CLUSTER_BAD_INPUTS,
    operations: OPERATIONS_BAD_INPUTS,
    cilium: CILIUM_BAD_INPUTS,
    istio: ISTIO_BAD_INPUTS,
};

/** One row of the matrix. */
export interface BadInputRow {
    readonly domain: string;
    readonly rule: string;
    /** The input, as the keys that differ from the valid lab. */
    readonly input: string;
    /** The message the example must produce, exactly as produced; undefined when no message matched. */
    readonly message?: string;
    /** Every message the example produced. */
    readonly all: readonly string[];
    /** Whether a config came back (it must not). */
    readonly accepted: boolean;
}

/** The matrix and its coverage of the validation code's message templates. */
export interface BadInputMatrix {
    readonly rows: readonly BadInputRow[];
    readonly sites: readonly { readonly site: MessageSite; readonly hits: readonly string[] }[];
}

const show = (value: string): string => JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);

/** The keys of `raw` that differ from the valid lab, as `key=value`. */
export function describeInput(raw: RawConfig): string {
    const keys = new Set([...Object.keys(raw), ...Object.keys(good)]);
    const parts = [...keys]
        .filter((k) => raw[k] !== good[k])
        .map((k) => (raw[k] === undefined ? `${k} unset` : `${k}=${show(raw[k] ?? "")}`));
    return parts.length > 0 ? parts.join(", ") : "(the valid lab)";
}

/** Errors of a program-level example, from the offline plan (its ConfigError lists one problem per line). */
async function programErrors(example: ProgramBadInput): Promise<string[]> {
    const args = ["--json", ...Object.entries(example.overrides).flatMap(([k, v]) => ["--config", `${k}=${v}`])];
    const run = await runPlan(args, { ...process.env, SSH_AUTH_SOCK: "/dev/null" });
    const plan = JSON.parse(run.stdout) as PlanDocument;
    return plan.errors.flatMap((e) => e.split("\n  - ").slice(1));
}

/** Runs every example and maps the message templates to them. */
export async function badInputMatrix(root = path.resolve(__dirname, "../..")): Promise<BadInputMatrix> {
    const rows: BadInputRow[] = [];
    for (const [domain, table] of Object.entries(BAD_INPUT_TABLES)) {
        for (const example of table) {
            const { config, errors } = resolveConfig(example.raw, { hasPrivateKey: true });
            const message = errors.find((e) => example.message.test(e));
            rows.push({ domain, rule: example.rule, input: describeInput(example.raw), all: errors, accepted: config !== undefined, ...(message !== undefined ? { message } : {}) });
        }
    }
    for (const example of PROGRAM_BAD_INPUTS) {
        const errors = await programErrors(example);
        const message = errors.find((e) => example.message.test(e));
        const input = Object.entries(example.overrides).map(([k, v]) => `${k}=${show(v)} (not --secret)`).join(", ");
        rows.push({ domain: "program", rule: example.rule, input, all: errors, accepted: errors.length === 0, ...(message !== undefined ? { message } : {}) });
    }
    const sites = validationMessageSites(root).map((site) => ({
        site,
        hits: rows.filter((r) => r.message !== undefined && site.pattern.test(r.message)).map((r) => `${r.domain}: ${r.rule}`),
    }));
    return { rows, sites };
}
