/**
 * Uploading a generated script into the SSH user's staging folder, the way every component stages what its remote
 * Commands run: the Command carries the content hash in its `triggers`; the upload is keyed on `sshTarget`, since a
 * new login means a new home.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { STAGING_DIR } from "./script";

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
