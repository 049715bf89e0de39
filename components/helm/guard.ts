/**
 * The version guard as a step of a component: its script staged on the control plane and run there before the first
 * Helm release, re-run whenever the script (which carries the target version) changes. The rule and the script are
 * in ./upgrade.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { contentHash, runStaged } from "../remote/script";

/** A component's upload of a staged script (its own triggers and dependencies apply). */
export type StageScript = (step: string, file: string, text: string) => remote.CopyToRemote;

/** What the guard step needs from its component. */
export interface VersionGuardStep {
    /** SSH connection to the control plane. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** Staged file name, `cilium-version-guard.sh`. */
    readonly file: string;
    /** The script (`versionGuardScript`). */
    readonly text: string;
    /** The component's upload. */
    readonly stage: StageScript;
}

/**
 * `<name>-version-guard-script` and `<name>-version-guard`: read-only, so re-running it is free; a new target version
 * changes the script, hence the trigger, so the Command is replaced and runs before the releases that depend on it.
 */
export function versionGuardCommand(name: string, step: VersionGuardStep, parent: pulumi.Resource): remote.Command {
    const file = step.stage("version-guard", step.file, step.text);
    return new remote.Command(
        `${name}-version-guard`,
        { connection: step.connection, create: runStaged(step.file), triggers: [contentHash(step.text)] },
        { parent, dependsOn: [file] },
    );
}
