/**
 * The program's own bootstrap steps, ready to execute on simulated hosts: every custom resource the program registers
 * for a stack, in wave order, with its real inputs (secrets revealed: this is test material, the secret audit checks
 * the program's wrapping separately) and the node whose SSH connection it uses.
 *
 * The program is evaluated in a child process (`plan-steps-child.ts`): the Pulumi runtime and the program module are
 * per-process state, so a second evaluation in one process would register nothing.
 *
 * Command outputs a later step consumes are unknown until the step runs. The child gives every command a placeholder
 * stdout (`placeholder(NAME)`, and for preflight `hostname=`/`machine-id=` lines of `placeholder(NAME, KEY)`, which the
 * program parses), and the executor (plan-run.ts) substitutes what the step really printed. Placeholders are plain
 * YAML scalars, so a config rendered around one is rendered as it would be around the real value.
 */
import * as path from "node:path";
import { runJsonChild } from "../helpers/child";

/** One custom resource of the plan. */
export interface PlanStep {
    /** Logical name, e.g. `worker1-join`. */
    readonly name: string;
    /** Type token. */
    readonly type: string;
    /** Wave (1-based): everything it waits for is in an earlier wave. */
    readonly wave: number;
    /** Names of the resources it waits for. */
    readonly waitsFor: readonly string[];
    /** Node whose SSH connection it uses (remote commands and uploads), else undefined. */
    readonly node?: string;
    /** Inputs with secrets revealed and string assets as `{ text }`. */
    readonly inputs: Readonly<Record<string, unknown>>;
}

/** The steps of one stack and the facts the executor needs. */
export interface PlanSteps {
    readonly stack: string;
    /** Node names in config order; the control plane first. */
    readonly nodes: readonly { readonly name: string; readonly role: string; readonly host: string }[];
    /** `istioMode` (`off` without Istio). */
    readonly istioMode: "off" | "sidecar" | "ambient";
    /** Program or validation errors (non-empty: nothing to run). */
    readonly errors: readonly string[];
    /** Custom resources in execution order: by wave, then name. */
    readonly steps: readonly PlanStep[];
}

/** Options of `loadPlanSteps`. */
export interface PlanStepsOptions {
    /** Stack name (default `dev`). */
    readonly stack?: string;
    /** Un-namespaced config overrides. */
    readonly overrides?: Readonly<Record<string, string>>;
}

/** Evaluates the program for a stack in a child process and returns its steps. */
export function loadPlanSteps(options: PlanStepsOptions = {}): Promise<PlanSteps> {
    return runJsonChild<PlanSteps>(path.join(__dirname, "plan-steps-child.ts"), [], {
        stdin: JSON.stringify({ stack: options.stack ?? "dev", overrides: options.overrides ?? {} }),
        // An agent socket keeps the "no SSH credentials" warning out of the evaluation's output.
        env: { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK || "/dev/null" },
    });
}

/** Stands for the stdout of step NAME (trimmed), or the value of its `KEY=` line. */
export function placeholder(name: string, key?: string): string {
    return key === undefined ? `PH__${name}__PH` : `PH__${name}__${key}__PH`;
}

/** Matches placeholders: group 1 the step name, group 2 the key (when any). */
export const PLACEHOLDER = /PH__([-.\w]+?)(?:__([-\w]+))?__PH/g;

/** Name without its node prefix (`worker1-join` → `join`), the step's kind across nodes. */
export function stepKind(step: PlanStep): string {
    return step.node !== undefined && step.name.startsWith(`${step.node}-`) ? step.name.slice(step.node.length + 1) : step.name;
}
