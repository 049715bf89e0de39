/**
 * Uploading a generated script into the SSH user's staging folder, the way every component stages what its remote
 * Commands run: the Command carries the content hash in its `triggers`; the upload is keyed on `sshTarget`, since a
 * new login means a new home. `stagedStep` is the whole pattern: the upload, then the Command that runs it.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { contentHash, runStaged, STAGING_DIR } from "./script";

/** Where and what to upload. */
export interface StagedScript {
    /** SSH connection to the host. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** `user@host:port` of that connection. */
    readonly sshTarget: string;
    /** File name under the staging folder. */
    readonly file: string;
    /** Its content. */
    readonly text: string;
}

/** The CopyToRemote that puts `script.text` at `.homelab/<file>`. */
export function stageScript(resourceName: string, script: StagedScript, opts: pulumi.CustomResourceOptions): remote.CopyToRemote {
    return new remote.CopyToRemote(
        resourceName,
        {
            connection: script.connection,
            source: new pulumi.asset.StringAsset(script.text),
            remotePath: `${STAGING_DIR}/${script.file}`,
            triggers: [script.sshTarget],
        },
        opts,
    );
}

/** A cluster node as the day-2 components need it. */
export interface HostRef {
    /** Kubernetes node name; names the child resources. */
    readonly nodeName: string;
    /** SSH connection to the host. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** `user@host:port` of the connection (staged files live in that user's home). */
    readonly sshTarget: string;
    /** The node's last bootstrap step (init or join): its staging folder exists and it is a cluster member. */
    readonly ready: pulumi.Resource;
}

/** One staged script run by a Command. */
export interface StagedStep {
    /** Resource name of the Command; the upload is `<name>-script`. */
    readonly name: string;
    /** Where it runs. */
    readonly host: Pick<HostRef, "connection" | "sshTarget">;
    /** File name under `~/.homelab`. */
    readonly file: string;
    /** Script content. */
    readonly text: string;
    /** Arguments passed to the script. */
    readonly args?: readonly string[];
    /** Values that re-run the step when they change, besides the script (e.g. the target version). */
    readonly triggers?: readonly string[];
    /** What the step waits for. */
    readonly dependsOn: readonly pulumi.Resource[];
    /** What the upload waits for (default `dependsOn`): uploading early keeps it off the critical path. */
    readonly uploadAfter?: readonly pulumi.Resource[];
}

/** A Command running an already staged script, re-run when the script or `triggers` change. */
export function runStagedStep(step: StagedStep, upload: pulumi.Resource, opts: pulumi.CustomResourceOptions): remote.Command {
    return new remote.Command(
        step.name,
        {
            connection: step.host.connection,
            create: runStaged(step.file, step.args ?? []),
            triggers: [contentHash(step.text), ...(step.triggers ?? [])],
        },
        { ...opts, dependsOn: [...step.dependsOn, upload] },
    );
}

/** Stages a script and runs it: `<name>-script` (CopyToRemote) then `<name>` (Command). */
export function stagedStep(step: StagedStep, opts: pulumi.CustomResourceOptions): remote.Command {
    const upload = stageScript(
        `${step.name}-script`,
        { connection: step.host.connection, sshTarget: step.host.sshTarget, file: step.file, text: step.text },
        { ...opts, dependsOn: [...(step.uploadAfter ?? step.dependsOn)] },
    );
    return runStagedStep(step, upload, opts);
}
